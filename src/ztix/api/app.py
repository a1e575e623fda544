"""The FastAPI application factory."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from ztix import observability
from ztix.api import bearer, docs, problems, spa
from ztix.api.deps import limit_by_address
from ztix.api.hardening import Hardening
from ztix.api.observe import Observe
from ztix.api.page_cache import PageCache
from ztix.api.routes import (
    admin,
    auth,
    controller,
    directory,
    health,
    irr,
    ixf,
    lookingglass,
    networks,
    notifications,
    requests,
    routeservers,
    tokens,
    users,
)
from ztix.auth.peeringdb import PeeringDBClient
from ztix.auth.ratelimit import RateLimits
from ztix.config import Settings
from ztix.db.session import Database
from ztix.routeserver.metrics import SessionRoutes
from ztix.workflow import dispatch
from ztix.workflow.dispatch import Dispatcher

if TYPE_CHECKING:
    from ztix.jobs.runner import InProcessRunner

log = logging.getLogger(__name__)


def operation_id(route: APIRoute) -> str:
    """A route's OpenAPI operation ID: its handler's name, e.g. ``admin_list_requests``.

    Stable when a path changes and readable in the generated client; handler names are
    unique across the routers (tests/test_openapi.py)."""
    return route.name


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    dispatcher: Dispatcher | None = None,
    peeringdb: PeeringDBClient | None = None,
) -> FastAPI:
    own_database = database is None
    database = database or Database.for_api(settings)
    runner: InProcessRunner | None = None
    if dispatcher is None:
        dispatcher, runner = _job_dispatcher(settings, database)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Handlers and dependencies run on this many threads; the pool has a connection for
        # each (Settings.database_pool_size). Requests beyond them wait on the event loop.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.server.threads
        if runner is not None:
            runner.start()
        _check_peeringdb_login(settings, app.state.peeringdb)
        _freeze_start_up()
        yield
        if runner is not None:
            runner.stop()
        app.state.readiness.close()
        app.state.peeringdb.close()
        if own_database:
            database.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="ZT-IX",
        summary="Control plane of a virtual Internet Exchange on ZeroTier",
        version="0.1.0",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served from the package: api/docs.py
        redoc_url=None,
        dependencies=[Depends(limit_by_address)],
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.page_cache = PageCache(int(settings.server.page_cache_mb * 2**20))
    app.state.dispatcher = dispatcher
    dispatch.install(database.sessionmaker, dispatcher)
    app.state.rate_limits = RateLimits(
        settings.auth, looking_glass=settings.routeservers.looking_glass_queries_per_user
    )
    app.state.peeringdb = peeringdb or PeeringDBClient(settings.peeringdb)
    app.state.metrics = metrics = observability.Metrics(database)
    metrics.add_collector(SessionRoutes(settings.routeservers))
    app.state.readiness = health.Readiness(settings, database, peeringdb=app.state.peeringdb)

    app.add_middleware(Observe, metrics=metrics)
    # Outermost: refuses oversized bodies before anything reads them; headers on every answer.
    app.add_middleware(Hardening, settings=settings)
    problems.install(app)
    bearer.document(app)
    app.include_router(auth.router)
    app.include_router(requests.router)
    app.include_router(tokens.router)
    app.include_router(notifications.router)
    app.include_router(directory.router)
    app.include_router(admin.router)
    app.include_router(users.router)
    app.include_router(routeservers.router)
    app.include_router(irr.router)
    app.include_router(lookingglass.router)
    app.include_router(controller.router)
    app.include_router(networks.router)
    app.include_router(ixf.router)
    app.include_router(health.router)
    docs.install(app)
    spa.install(app)  # last: the web app answers every other GET path
    return app


_frozen = False


def _check_peeringdb_login(settings: Settings, peeringdb: PeeringDBClient) -> threading.Thread:
    """Fetch and validate PeeringDB's discovery document and key set now (they are cached
    for logins), in the background: a wrong discovery URL is logged at start-up, not first
    at a user's login, and never delays or stops start-up (provisioning needs no login).
    ``/readyz`` reports it as the non-fatal check ``peeringdb_login``."""

    def run() -> None:
        if not settings.peeringdb.enabled or not settings.peeringdb.client_id:
            return
        failure = peeringdb.check()
        if failure is None:
            log.info("PeeringDB login ready: discovery document and key set fetched")
        else:
            log.error("PeeringDB login unavailable (logins will fail): %s", failure)

    thread = threading.Thread(target=run, name="ztix-peeringdb-check", daemon=True)
    thread.start()
    return thread


def _freeze_start_up() -> None:
    """What start-up built lives as long as the process: move it out of the collector's
    sight, or every full collection walks ~200,000 objects (a 150 ms pause at p99). Once per
    process: a later app (tests build many) must not make its garbage immortal."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


def _job_dispatcher(
    settings: Settings, database: Database
) -> tuple[Dispatcher, InProcessRunner | None]:
    """Celery when configured; otherwise jobs run on threads of this process."""
    if settings.jobs.runner == "celery":
        from ztix.jobs.celery_publish import CeleryDispatcher

        # Configured, and Celery imported, at the first publish: an HTTP worker that only
        # serves reads never imports it (issue 17, P6).
        return CeleryDispatcher(settings), None
    from ztix.jobs.context import build_context
    from ztix.jobs.runner import InProcessRunner

    runner = InProcessRunner(
        threads=settings.jobs.worker_threads,
        reconcile_interval=settings.jobs.reconcile_interval_seconds,
    )
    runner.bind(build_context(settings, runner, database))
    return runner, runner
