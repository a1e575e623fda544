"""Metrics, readiness and structured logs (docs/operations.md, "Metrics and readiness").

Metrics live in a :class:`Metrics` per app, each with its own ``CollectorRegistry`` (tests
build many apps in one process). Job code does not know about apps: it calls the module
functions :func:`record_provisioning` and :func:`record_route_server_round`, which update every
live :class:`Metrics` of this process. A Celery worker process has no ``/metrics``: what its
jobs record stays in that process (its outcomes still show in the requests-by-state gauge).
"""

from __future__ import annotations

import json as jsonlib
import logging
import threading
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from ztix import context
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus

log = logging.getLogger(__name__)

# -- metrics -----------------------------------------------------------------------------------

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class RequestsByState(Collector):
    """``ztix_requests{status}``, read from ``request_status_counts`` at scrape time."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterable[Metric]:
        from ztix.db.models import RequestStatusCount

        gauge = GaugeMetricFamily(
            "ztix_requests", "Join requests by state, over every IX network", labels=["status"]
        )
        counts = {s.value: 0 for s in RequestStatus}
        try:
            with self.database.session() as db:
                rows = db.execute(
                    select(RequestStatusCount.status, func.sum(RequestStatusCount.count)).group_by(
                        RequestStatusCount.status
                    )
                )
                for status, count in rows:
                    counts[str(status)] = int(count or 0)
        except Exception as exc:  # a scrape must not fail because the database is down
            log.warning("metrics: cannot read the request counts: %s", exc)
            return []
        for status, count in sorted(counts.items()):
            gauge.add_metric([status], count)
        return [gauge]


class Metrics:
    """The metrics of one app (or one worker process)."""

    def __init__(self, database: Database | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_duration = Histogram(
            "ztix_http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.provisioning_attempts = Counter(
            "ztix_provisioning_attempts",
            "Provisioning job attempts by kind (provision, leave) and outcome",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.provisioning_duration = Histogram(
            "ztix_provisioning_duration_seconds",
            "Duration of provisioning job attempts by kind and outcome",
            ["kind", "outcome"],
            buckets=_JOB_BUCKETS,
            registry=self.registry,
        )
        self.route_server_syncs = Counter(
            "ztix_route_server_syncs",
            "Route-server sync outcomes by server (applied, unchanged, failed, busy)",
            ["server", "result"],
            registry=self.registry,
        )
        self.route_server_round_duration = Histogram(
            "ztix_route_server_sync_round_duration_seconds",
            "Duration of route-server sync rounds (all enabled servers)",
            buckets=_JOB_BUCKETS,
            registry=self.registry,
        )
        if database is not None:
            self.registry.register(RequestsByState(database))
        _sinks.add(self)


_sinks: weakref.WeakSet[Metrics] = weakref.WeakSet()
_sinks_lock = threading.Lock()


def _each() -> list[Metrics]:
    with _sinks_lock:
        return list(_sinks)


def record_provisioning(kind: str, outcome: str, seconds: float) -> None:
    """One attempt of a provisioning job (``kind``: provision or leave; ``outcome``:
    succeeded, failed or skipped). Never raises."""
    for metrics in _each():
        try:
            metrics.provisioning_attempts.labels(kind, outcome).inc()
            metrics.provisioning_duration.labels(kind, outcome).observe(seconds)
        except Exception:  # pragma: no cover - metrics must never break a job
            log.debug("metrics: provisioning not recorded", exc_info=True)


def record_route_server_round(results: Iterable[tuple[str, str]], seconds: float) -> None:
    """One sync round: ``(server, result)`` per server, and how long the round took."""
    results = list(results)
    for metrics in _each():
        try:
            metrics.route_server_round_duration.observe(seconds)
            for server, result in results:
                metrics.route_server_syncs.labels(server, result).inc()
        except Exception:  # pragma: no cover
            log.debug("metrics: route-server round not recorded", exc_info=True)


# -- structured logs ---------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, correlation_id (and exc)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": context.correlation_id.get(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        return jsonlib.dumps(entry, default=str)


_PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def logging_config(level: str, *, json: bool = True) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for this process and uvicorn's (``log_config``):
    every logger, uvicorn's included, writes through one root handler on stderr."""
    formatter: dict[str, Any] = {"()": f"{__name__}.JsonFormatter"} if json else {"format": _PLAIN}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level.upper()}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery")
        },
    }


def configure_logging(level: str, json: bool = True) -> None:
    """Send every log record to stderr, one JSON object per line (or plain text)."""
    import logging.config

    logging.config.dictConfig(logging_config(level, json=json))
