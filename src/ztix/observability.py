"""Metrics, readiness and structured logs (docs/operations.md, "Metrics and readiness").

Metrics live in a :class:`Metrics` per app, each with its own ``CollectorRegistry`` (tests
build many apps in one process). Job and client code does not know about apps: it calls the
module functions (:func:`record_provisioning`, :func:`record_route_server_round`,
:func:`zerotier_call`, :func:`peeringdb_fetch`), which update every live :class:`Metrics` of
this process.

A Celery worker (``ztix worker``) has no API: :func:`serve_worker_metrics` gives it its own
Prometheus endpoint. With the prefork pool the jobs run in child processes, so the worker
switches prometheus_client to its multiprocess mode (each process writes its samples to
files in ``PROMETHEUS_MULTIPROC_DIR``; a scrape of the parent adds them up).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from ztix.db.session import Database, rows_for_scrape
from ztix.domain.requests import RequestStatus
from ztix.irr.metrics import IrrCollector
from ztix.logs import JsonFormatter as JsonFormatter
from ztix.logs import TextFormatter as TextFormatter
from ztix.logs import configure_logging as configure_logging
from ztix.logs import json_wanted as json_wanted
from ztix.logs import logging_config as logging_config
from ztix.notify.metrics import OutboxCollector

log = logging.getLogger(__name__)

# -- metrics -----------------------------------------------------------------------------------

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# Outbound calls: client timeouts are 10 s (ZeroTier) and 15 s (PeeringDB) by default.
_CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class RequestsByState(Collector):
    """``ztix_requests{status}``, read from ``request_status_counts`` at scrape time."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @staticmethod
    def _gauge() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "ztix_requests", "Join requests by state, over every IX network", labels=["status"]
        )

    def describe(self) -> Iterable[Metric]:
        """The names, without reading the database (see :class:`Metrics`)."""
        return [self._gauge()]

    def collect(self) -> Iterable[Metric]:
        from ztix.db.models import RequestStatusCount

        gauge = self._gauge()
        counts = {s.value: 0 for s in RequestStatus}
        rows = rows_for_scrape(
            self.database,
            "the request counts",
            select(RequestStatusCount.status, func.sum(RequestStatusCount.count)).group_by(
                RequestStatusCount.status
            ),
        )
        if rows is None:
            return []
        for status, count in rows:
            counts[str(status)] = int(count or 0)
        for status, count in sorted(counts.items()):
            gauge.add_metric([status], count)
        return [gauge]


def database_collectors(database: Database | None) -> tuple[Collector, ...]:
    """The gauges read from the database at scrape time (none without a database)."""
    if database is None:
        return ()
    return (RequestsByState(database), IrrCollector(database), OutboxCollector(database))


class Metrics:
    """The metrics of one app (or one worker process).

    Its registry learns a collector's names from the collector's ``describe()`` when it has
    one, and otherwise by calling ``collect()`` at registration: the collectors that read
    the database or the route servers describe themselves, so building the app does not
    query them (it cost every HTTP worker three statements, their compiled forms and a
    pooled connection at start-up, ~2.5 MiB at rest; issue 17, P6)."""

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
        self.zerotier_calls = Counter(
            "ztix_zerotier_calls",
            "Calls to the ZeroTier controller or Central by provider, method, endpoint template "
            "and HTTP status (error, timeout: no answer)",
            ["provider", "method", "endpoint", "status"],
            registry=self.registry,
        )
        self.zerotier_call_duration = Histogram(
            "ztix_zerotier_call_duration_seconds",
            "Duration of calls to the ZeroTier controller or Central",
            ["provider", "method", "endpoint"],
            buckets=_CALL_BUCKETS,
            registry=self.registry,
        )
        self.peeringdb_fetches = Counter(
            "ztix_peeringdb_fetches",
            "Requests to PeeringDB by kind (API object, or oidc_discovery, oidc_jwks, "
            "oidc_token, oidc_userinfo) and HTTP status (error, timeout: no answer)",
            ["kind", "status"],
            registry=self.registry,
        )
        self.peeringdb_fetch_duration = Histogram(
            "ztix_peeringdb_fetch_duration_seconds",
            "Duration of requests to PeeringDB by kind",
            ["kind"],
            buckets=_CALL_BUCKETS,
            registry=self.registry,
        )
        self.peeringdb_rechecks = Counter(
            "ztix_peeringdb_rechecks",
            "Re-checks of PeeringDB users' networks by outcome (confirmed, lost: a grant was "
            "revoked, failed: PeeringDB did not answer or refused the token)",
            ["outcome"],
            registry=self.registry,
        )
        self.network_repairs = Counter(
            "ztix_network_repairs",
            "IX networks whose layer-2 settings the reconciler repaired, by network ID and "
            "action (corrected: settings drifted; recreated: the network was deleted)",
            ["network", "action"],
            registry=self.registry,
        )
        self.reconciler_redispatches = Counter(
            "ztix_reconciler_redispatches",
            "Requests the reconciler dispatched again (never dispatched, lease expired, or "
            "retry due)",
            registry=self.registry,
        )
        self.database = database
        for collector in database_collectors(database):
            self.registry.register(collector)
        self._collectors: list[Collector] = []  # read at scrape time, not summed over workers
        _sinks.add(self)

    def add_collector(self, collector: Collector) -> None:
        self._collectors.append(collector)
        self.registry.register(collector)

    def exposition(self) -> bytes:
        """The Prometheus text of this process, or, when it is one of several HTTP workers
        (``ztix serve --workers N``), of all of them: each scrape reaches one worker, which
        adds up the samples every worker wrote to the shared directory."""
        from prometheus_client import generate_latest

        shared = os.environ.get(_MULTIPROC_ENV)
        if not shared or not getattr(values.ValueClass, "_multiprocess", False):
            return generate_latest(self.registry)
        registry = multiprocess_registry(Path(shared))
        for collector in database_collectors(self.database):  # read from the database
            registry.register(collector)
        for collector in self._collectors:
            registry.register(collector)
        return generate_latest(registry)


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


def record_peeringdb_recheck(outcome: str) -> None:
    """One user's PeeringDB re-check: confirmed, lost or failed. Never raises."""
    for metrics in _each():
        try:
            metrics.peeringdb_rechecks.labels(outcome).inc()
        except Exception:  # pragma: no cover
            log.debug("metrics: re-check not recorded", exc_info=True)


def record_network_repair(network_id: str, action: str) -> None:
    """The reconciler repaired an IX network (``action``: corrected or recreated)."""
    for metrics in _each():
        try:
            metrics.network_repairs.labels(network_id, action).inc()
        except Exception:  # pragma: no cover
            log.debug("metrics: network repair not recorded", exc_info=True)


def record_redispatches(count: int) -> None:
    """The reconciler dispatched ``count`` requests again."""
    for metrics in _each():
        try:
            metrics.reconciler_redispatches.inc(count)
        except Exception:  # pragma: no cover
            log.debug("metrics: re-dispatches not recorded", exc_info=True)


class StateLog:
    """Warnings about a lasting condition, logged once per change of state, not per pass.

    ``problem(key, state, message)`` logs ``message`` as a warning when ``key`` was fine or
    in another ``state`` (give a stable state, e.g. an error code, not a message with
    timings in it); ``recovered(key, message)`` logs ``message`` once when ``key`` was in
    trouble. The reconciler runs every few seconds: a dead dependency is one warning, and
    its return is one info line.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self._states: dict[str, str] = {}
        self._lock = threading.Lock()

    def problem(self, key: str, state: str, message: str, *args: Any) -> None:
        with self._lock:
            changed = self._states.get(key) != state
            self._states[key] = state
        if changed:
            self._log.warning(message, *args)

    def recovered(self, key: str, message: str, *args: Any) -> None:
        with self._lock:
            was = self._states.pop(key, None)
        if was is not None:
            self._log.info(message, *args)


def failure_status(exc: BaseException) -> str:
    """The ``status`` label of a call that got no HTTP answer."""
    return "timeout" if isinstance(exc, httpx.TimeoutException) else "error"


def record_zerotier_call(
    provider: str, method: str, endpoint: str, status: str, seconds: float
) -> None:
    """One HTTP call to ZeroTier; ``endpoint`` is a template, never a raw path."""
    for metrics in _each():
        try:
            metrics.zerotier_calls.labels(provider, method, endpoint, status).inc()
            metrics.zerotier_call_duration.labels(provider, method, endpoint).observe(seconds)
        except Exception:  # pragma: no cover
            log.debug("metrics: ZeroTier call not recorded", exc_info=True)


def record_peeringdb_fetch(kind: str, status: str, seconds: float) -> None:
    """One HTTP request to PeeringDB (its REST API or its OpenID Connect provider)."""
    for metrics in _each():
        try:
            metrics.peeringdb_fetches.labels(kind, status).inc()
            metrics.peeringdb_fetch_duration.labels(kind).observe(seconds)
        except Exception:  # pragma: no cover
            log.debug("metrics: PeeringDB fetch not recorded", exc_info=True)


def _metered(send: Callable[[], httpx.Response], record: Callable[[str, float], None]) -> Any:
    started = time.perf_counter()
    try:
        response = send()
    except BaseException as exc:
        record(failure_status(exc), time.perf_counter() - started)
        raise
    record(str(response.status_code), time.perf_counter() - started)
    return response


def zerotier_call(
    provider: str, method: str, endpoint: str, send: Callable[[], httpx.Response]
) -> httpx.Response:
    """``send()`` (an HTTP call to ZeroTier), counted and timed; exceptions pass through."""

    def record(status: str, seconds: float) -> None:
        record_zerotier_call(provider, method, endpoint, status, seconds)

    response: httpx.Response = _metered(send, record)
    return response


def peeringdb_fetch(kind: str, send: Callable[[], httpx.Response]) -> httpx.Response:
    """``send()`` (an HTTP request to PeeringDB), counted and timed."""

    def record(status: str, seconds: float) -> None:
        record_peeringdb_fetch(kind, status, seconds)

    response: httpx.Response = _metered(send, record)
    return response


# -- the worker's endpoint ---------------------------------------------------------------------

_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The worker process's own Metrics (the weak set of sinks alone would let it go).
_worker_metrics: Metrics | None = None


@dataclass
class WorkerMetricsServer:
    """The Prometheus endpoint of one ``ztix worker``; :meth:`close` stops it."""

    host: str
    port: int
    multiprocess_dir: Path | None
    _server: Any
    _thread: threading.Thread
    _own_dir: bool

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self._own_dir and self.multiprocess_dir is not None:
            shutil.rmtree(self.multiprocess_dir, ignore_errors=True)


def multiprocess_registry(path: Path) -> CollectorRegistry:
    """A registry that adds up the samples every process wrote under ``path``."""
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(path))  # type: ignore[no-untyped-call]
    return registry


def enter_multiprocess_mode(prefix: str = "ztix-metrics-") -> tuple[Path, bool]:
    """Point prometheus_client at a directory shared with this process's children (Celery's
    prefork pool, uvicorn's HTTP workers); returns it and whether it is ours to remove.

    ``PROMETHEUS_MULTIPROC_DIR`` from the environment is used (and emptied, as
    prometheus_client requires between runs); otherwise a private temporary directory is
    made and removed at exit. prometheus_client picks its value class from that variable
    when it is imported, which has happened already here: the class is chosen again, before
    this process creates any metric, and the children forked later inherit it.
    """
    given = os.environ.get(_MULTIPROC_ENV)
    if given:
        path, own = Path(given), False
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    else:
        path, own = Path(tempfile.mkdtemp(prefix=prefix)), True
        os.environ[_MULTIPROC_ENV] = str(path)
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    return path, own


def serve_worker_metrics(host: str, port: int, *, multiprocess: bool) -> WorkerMetricsServer:
    """Serve this worker's metrics on ``host:port`` (plain HTTP, any path, from a thread).

    ``multiprocess``: jobs run in forked child processes (Celery's prefork pool), whose
    samples are added up at scrape time. Raises :class:`OSError` when the port is taken.
    """
    global _worker_metrics
    multiprocess_dir: Path | None = None
    own_dir = False
    if multiprocess:
        multiprocess_dir, own_dir = enter_multiprocess_mode("ztix-worker-metrics-")
    if _worker_metrics is None:
        _worker_metrics = Metrics()
    registry = _worker_metrics.registry
    if multiprocess_dir is not None:
        registry = multiprocess_registry(multiprocess_dir)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError:
        if own_dir and multiprocess_dir is not None:
            shutil.rmtree(multiprocess_dir, ignore_errors=True)
        raise
    bound = int(server.server_address[1])
    log.info("worker metrics on http://%s:%s/metrics", host, bound)
    return WorkerMetricsServer(host, bound, multiprocess_dir, server, thread, own_dir)
