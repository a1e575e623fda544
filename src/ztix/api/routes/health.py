"""Liveness, readiness and metrics: ``/healthz``, ``/readyz``, ``/metrics``.

``/readyz`` names each check with ``ok`` and a ``reason``; it answers 503 while any check
fails (a check marked ``"fatal": false``, such as PeeringDB login, is reported but does not
make ZT-IX unready: provisioning goes on without it) and never 500 (a check that raises or
hangs is a failed check). Results are cached for ``Readiness.ttl`` seconds so that probes
cost the dependencies little. A check still hanging from an earlier probe is waited on
again, not started twice, so a dead dependency cannot use up the checks' threads. Anonymous
callers get the status alone; the checks and reasons go to loopback clients and logged-in
admins, with credentials cut out of them. ``/metrics`` answers loopback clients and holders
of ``server.metrics_token``.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ztix.api.deps import DatabaseRoute, is_loopback_client
from ztix.api.problems import problem_response
from ztix.auth.peeringdb import PeeringDBClient
from ztix.auth.sessions import resolve_session
from ztix.config import Settings
from ztix.db.session import Database, is_sqlite
from ztix.errors import AppError
from ztix.observability import Metrics
from ztix.redact import redact

log = logging.getLogger(__name__)

router = APIRouter(route_class=DatabaseRoute, tags=["health"])

CHECK_TIMEOUT = 2.0
# Checks whose failure is reported without making ZT-IX unready.
NON_FATAL = frozenset({"peeringdb_login"})


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    reason: str
    fatal: bool = True  # False: reported, but ZT-IX stays ready when it fails

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "reason": self.reason}
        if not self.fatal:
            out["fatal"] = False
        return out


def check_database(database: Database) -> CheckResult:
    with database.read_engine.connect() as conn:
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
    from ztix.workflow.controller import check_ready
    from ztix.zerotier.controller import ControllerProvider, ControllerSettings

    conf = ControllerSettings.from_config(settings.zerotier.controller)
    conf = conf.model_copy(update={"timeout_seconds": min(conf.timeout_seconds, CHECK_TIMEOUT)})
    with ControllerProvider(conf) as controller:
        checks = check_ready(settings, controller)
    failed = [c for c in checks if not c.ok]
    if failed:
        return CheckResult(False, "; ".join(f"{c.name}: {c.detail}" for c in failed))
    return CheckResult(True, f"{len(checks)} checks passed")


def check_peeringdb_login(peeringdb: PeeringDBClient) -> CheckResult:
    """PeeringDB's discovery document and key set, fetched and valid (non-fatal: without
    them logins fail, but provisioning goes on)."""
    failure = peeringdb.check()
    if failure is not None:
        return CheckResult(False, f"PeeringDB login unavailable: {failure}", fatal=False)
    return CheckResult(True, "discovery document and key set fetched", fatal=False)


def check_route_servers(settings: Settings) -> CheckResult:
    from ztix.routeserver.status import read_sessions
    from ztix.workflow.routeserver_desired import enabled_servers

    servers = enabled_servers(settings)
    failed = []
    for rs in servers:
        sessions = read_sessions(rs, max_age=CHECK_TIMEOUT)
        if not sessions.ok:
            failed.append(f"{rs.name}: {sessions.error or 'no answer'}")
    if failed:
        return CheckResult(False, "; ".join(failed))
    return CheckResult(True, f"{len(servers)} route servers answered `show status`")


def secrets_of(settings: Settings, database: Database) -> list[str]:
    """The configured secrets a check's error could quote."""
    found: set[str] = set()
    for url in (database.url, settings.database_url, settings.jobs.broker_url):
        try:
            password = urlsplit(url).password
        except ValueError:
            continue
        if password:
            found |= {password, unquote(password), quote(unquote(password), safe="")}
            found.add(quote_plus(unquote(password)))
    zt = settings.zerotier
    for token in (zt.controller.token, zt.central.token):
        if token.get_secret_value():
            found.add(token.get_secret_value())
    return sorted(found)


def describe_failure(exc: BaseException) -> str:
    """``Type: message`` of the driver's own error, on one line (SQLAlchemy's wrapper adds
    the statement and a link to its docs, which say nothing about the cause)."""
    orig = getattr(exc, "orig", None)
    cause = orig if isinstance(orig, BaseException) else exc
    message = getattr(cause, "message", None) or str(cause) or ""
    message = " ".join(str(message).split())
    return f"{type(cause).__name__}: {message}" if message else type(cause).__name__


class Readiness:
    """The checks of one app, run concurrently with a deadline each, cached ``ttl`` s."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        ttl: float = 2.0,
        peeringdb: PeeringDBClient | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.peeringdb = peeringdb
        self.ttl = ttl
        self.timeout = CHECK_TIMEOUT + 0.5
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, CheckResult]] | None = None
        self._running: dict[str, Future[CheckResult]] = {}
        self._secrets = secrets_of(settings, database)
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
        peeringdb = self.peeringdb
        if peeringdb is not None and settings.peeringdb.enabled and settings.peeringdb.client_id:
            found["peeringdb_login"] = lambda: check_peeringdb_login(peeringdb)
        return found

    def run(self) -> dict[str, CheckResult]:
        with self._lock:
            cached = self._cached
            if cached is not None and time.monotonic() - cached[0] < self.ttl:
                return cached[1]
            futures = {name: self._submit(name, fn) for name, fn in self.checks().items()}
            results: dict[str, CheckResult] = {}
            deadline = time.monotonic() + self.timeout
            for name, future in futures.items():
                try:
                    results[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
                except FutureTimeout:
                    results[name] = CheckResult(
                        False, f"no answer within {self.timeout:g} s", fatal=name not in NON_FATAL
                    )
                except Exception as exc:
                    results[name] = CheckResult(
                        False,
                        self.redact(describe_failure(exc))[:500],
                        fatal=name not in NON_FATAL,
                    )
            self._cached = (time.monotonic(), results)
            return results

    def _submit(self, name: str, fn: Callable[[], CheckResult]) -> Future[CheckResult]:
        """Start the check, unless its previous run still hangs: then wait on that one."""
        running = self._running.get(name)
        if running is None or running.done():
            running = self._running[name] = self._pool.submit(fn)
        return running

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "alive"}


def _sees_details(request: Request) -> bool:
    """Check names and reasons are for operators: loopback clients and logged-in admins."""
    settings: Settings = request.app.state.settings
    if is_loopback_client(request, settings):
        return True
    token = request.cookies.get(settings.auth.cookie_name)
    if not token:
        return False
    database: Database = request.app.state.database
    try:
        return resolve_session(
            database,
            token,
            settings.auth,
            grants_max_age_hours=settings.peeringdb.recheck_max_age_hours,
        ).caller.is_admin
    except (AppError, SQLAlchemyError):
        return False  # no session, or no database to ask: an anonymous caller


def _readiness(request: Request, status: str, checks: dict[str, Any]) -> JSONResponse:
    body: dict[str, Any] = {"status": status}
    if _sees_details(request):
        body["checks"] = checks
    return JSONResponse(body, status_code=200 if status == "ready" else 503)


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    readiness: Readiness = request.app.state.readiness
    try:
        results = readiness.run()
    except Exception as exc:  # never a 500
        trace = "".join(traceback.format_exception(exc))
        log.error("readiness: the checks could not run: %s", readiness.redact(trace))
        reason = readiness.redact(describe_failure(exc))
        return _readiness(request, "unready", {"readiness": {"ok": False, "reason": reason}})
    ready = all(r.ok or not r.fatal for r in results.values())
    if not ready:
        log.warning(
            "readiness: not ready: %s",
            "; ".join(f"{n}: {r.reason}" for n, r in results.items() if not r.ok),
        )
    checks = {name: r.as_dict() for name, r in results.items()}
    return _readiness(request, "ready" if ready else "unready", checks)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Loopback clients, and anyone with ``server.metrics_token`` as a bearer token."""
    settings: Settings = request.app.state.settings
    token = settings.server.metrics_token.get_secret_value()
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    allowed = is_loopback_client(request, settings) or bool(
        token
        and scheme.lower() == "bearer"
        and hmac.compare_digest(presented.strip().encode(), token.encode())
    )
    if not allowed:
        if token:
            response = problem_response(request, "not_authenticated", "send the metrics token")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        return problem_response(
            request,
            "forbidden",
            "metrics are served to loopback clients; set server.metrics_token to scrape "
            "from elsewhere",
        )
    metrics: Metrics = request.app.state.metrics
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
