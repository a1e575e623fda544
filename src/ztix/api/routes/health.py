"""Liveness, readiness and metrics: ``/healthz``, ``/readyz``, ``/metrics``.

``/readyz`` names each check with ``ok`` and a ``reason``; it answers 503 while any check
fails and never 500 (a check that raises or hangs is a failed check). Results are cached for
``Readiness.ttl`` seconds so that probes cost the dependencies little.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from ztix.config import Settings
from ztix.db.session import Database, is_sqlite

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

CHECK_TIMEOUT = 2.0


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason}


def check_database(database: Database) -> CheckResult:
    with database.engine.connect() as conn:
        if not is_sqlite(database.url):
            conn.execute(text("SET LOCAL statement_timeout = 2000"))
        conn.execute(text("SELECT 1"))
    return CheckResult(True, "SELECT 1 answered")


def check_broker(settings: Settings) -> CheckResult:
    import redis

    client = redis.Redis.from_url(
        settings.jobs.broker_url, socket_connect_timeout=1, socket_timeout=1
    )
    try:
        client.ping()
    finally:
        client.close()
    return CheckResult(True, "Redis answered PING")


def check_controller(settings: Settings) -> CheckResult:
    from ztix.jobs.context import controller_settings
    from ztix.zerotier.controller import ControllerProvider
    from ztix.zerotier.lifecycle import check_ready

    conf = controller_settings(settings)
    conf = conf.model_copy(update={"timeout_seconds": min(conf.timeout_seconds, CHECK_TIMEOUT)})
    with ControllerProvider(conf) as controller:
        checks = check_ready(settings, controller)
    failed = [c for c in checks if not c.ok]
    if failed:
        return CheckResult(False, "; ".join(f"{c.name}: {c.detail}" for c in failed))
    return CheckResult(True, f"{len(checks)} checks passed")


def check_route_servers(settings: Settings) -> CheckResult:
    from ztix.routeserver.desired import enabled_servers
    from ztix.routeserver.status import read_sessions

    servers = enabled_servers(settings)
    failed = []
    for rs in servers:
        sessions = read_sessions(rs, max_age=CHECK_TIMEOUT)
        if not sessions.ok:
            failed.append(f"{rs.name}: {sessions.error or 'no answer'}")
    if failed:
        return CheckResult(False, "; ".join(failed))
    return CheckResult(True, f"{len(servers)} route servers answered `show status`")


class Readiness:
    """The checks of one app, run concurrently with a deadline each, cached ``ttl`` s."""

    def __init__(self, settings: Settings, database: Database, ttl: float = 2.0) -> None:
        self.settings = settings
        self.database = database
        self.ttl = ttl
        self.timeout = CHECK_TIMEOUT + 0.5
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, CheckResult]] | None = None
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ztix-readyz")

    def checks(self) -> dict[str, Callable[[], CheckResult]]:
        settings = self.settings
        found: dict[str, Callable[[], CheckResult]] = {
            "database": lambda: check_database(self.database)
        }
        if settings.jobs.runner == "celery":
            found["broker"] = lambda: check_broker(settings)
        if settings.zerotier.provider == "controller":
            found["controller"] = lambda: check_controller(settings)
        if any(rs.enabled for rs in settings.routeservers.servers):
            found["route_servers"] = lambda: check_route_servers(settings)
        return found

    def run(self) -> dict[str, CheckResult]:
        with self._lock:
            cached = self._cached
            if cached is not None and time.monotonic() - cached[0] < self.ttl:
                return cached[1]
            futures = {name: self._pool.submit(fn) for name, fn in self.checks().items()}
            results: dict[str, CheckResult] = {}
            deadline = time.monotonic() + self.timeout
            for name, future in futures.items():
                try:
                    results[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
                except FutureTimeout:
                    results[name] = CheckResult(False, f"no answer within {self.timeout:g} s")
                except Exception as exc:
                    reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
                    results[name] = CheckResult(False, f"{type(exc).__name__}: {reason}"[:500])
            self._cached = (time.monotonic(), results)
            return results

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    readiness: Readiness = request.app.state.readiness
    try:
        results = readiness.run()
    except Exception as exc:  # never a 500
        log.exception("readiness: the checks could not run")
        body = {"status": "unready", "checks": {"readiness": {"ok": False, "reason": str(exc)}}}
        return JSONResponse(body, status_code=503)
    ready = all(r.ok for r in results.values())
    if not ready:
        log.warning(
            "readiness: not ready: %s",
            "; ".join(f"{n}: {r.reason}" for n, r in results.items() if not r.ok),
        )
    body = {
        "status": "ready" if ready else "unready",
        "checks": {name: r.as_dict() for name, r in results.items()},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
