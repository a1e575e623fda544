"""Celery on Redis: the distributed job runner (`ztix worker`).

The tasks are registered on the app of ``jobs/celery_publish.py`` (what a process that only
publishes imports). They are thin: they build a :class:`~ztix.jobs.tasks.JobContext` once per worker
process and call the same job code as the in-process runner. Periodic reconciliation runs
from Celery beat: `ztix worker --beat` embeds it in one worker (run exactly one beat).
"""

from __future__ import annotations

import logging
import uuid
from functools import cache
from typing import Any

from celery import Celery, Task

from ztix import context
from ztix.config import Settings, load_settings
from ztix.jobs import celery_publish as publish
from ztix.jobs.celery_publish import CeleryDispatcher
from ztix.jobs.notifications import deliver_notifications
from ztix.jobs.tasks import (
    JobContext,
    process_request,
    recheck_interval_seconds,
    recheck_peeringdb,
    reconcile,
    refresh_irr,
    sync_route_servers,
)

log = logging.getLogger(__name__)

__all__ = ["CeleryDispatcher", "celery", "configure"]

celery = publish.app()


def configure(settings: Settings) -> Celery:
    """Point the Celery app at the configured broker, with the periodic tasks of beat;
    called by the worker and beat (the API and the CLI only publish:
    ``celery_publish.configure``)."""
    publish.configure(settings)
    celery.conf.update(
        beat_schedule={
            "ztix-reconcile": {
                "task": "ztix.reconcile",
                "schedule": settings.jobs.reconcile_interval_seconds,
            },
            "ztix-recheck-peeringdb": {
                "task": "ztix.recheck_peeringdb",
                "schedule": recheck_interval_seconds(settings),
            },
            "ztix-refresh-irr": {
                "task": "ztix.refresh_irr",
                "schedule": settings.irr.refresh_interval_seconds,
            },
            "ztix-deliver-notifications": {
                "task": "ztix.deliver_notifications",
                "schedule": settings.notifications.poll_seconds,
            },
        },
    )
    return celery


@cache
def _worker_context() -> JobContext:
    from ztix.jobs.context import build_context

    return build_context(load_settings(), CeleryDispatcher())


@celery.task(name=publish.PROCESS_REQUEST, bind=True)
def process_request_task(
    self: Task[Any, Any], request_id: str, correlation_id: str | None = None
) -> None:
    token = context.correlation_id.set(correlation_id)
    try:
        outcome = process_request(_worker_context(), uuid.UUID(request_id))
        if outcome.retry_in is not None:
            self.apply_async(
                args=(request_id,),
                kwargs={"correlation_id": correlation_id},
                countdown=outcome.retry_in,
            )
    finally:
        context.correlation_id.reset(token)


@celery.task(name=publish.SYNC_ROUTE_SERVERS)
def sync_route_servers_task() -> None:
    # Many of these may queue up in a burst; each is cheap when nothing changed (the
    # desired hash equals the applied one) and the server leases fold the rest.
    sync_route_servers(_worker_context())


@celery.task(name="ztix.reconcile")
def reconcile_task() -> dict[str, int]:
    return reconcile(_worker_context())


@celery.task(name="ztix.recheck_peeringdb")
def recheck_peeringdb_task() -> dict[str, int]:
    return recheck_peeringdb(_worker_context())


@celery.task(name="ztix.refresh_irr")
def refresh_irr_task() -> dict[str, int]:
    return refresh_irr(_worker_context())


@celery.task(name="ztix.deliver_notifications")
def deliver_notifications_task() -> dict[str, int]:
    return deliver_notifications(_worker_context())
