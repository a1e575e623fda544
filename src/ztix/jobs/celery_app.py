"""Celery on Redis: the distributed job runner (`ztix worker`).

The tasks are thin: they build a :class:`~ztix.jobs.tasks.JobContext` once per worker
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

celery = Celery("ztix")


def configure(settings: Settings) -> Celery:
    """Point the Celery app at the configured broker; called by the API and the worker."""
    _forget_connections()
    celery.conf.update(
        broker_url=settings.jobs.broker_url,
        # No result backend: the database holds every outcome.
        task_ignore_result=True,
        # A task is acknowledged after it ran: a killed worker's task is delivered again.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # The API must not hang when Redis is down: fail the publish fast; the commit
        # stands and the reconciler dispatches the work once Redis is back.
        broker_connection_timeout=2,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"socket_connect_timeout": 2, "socket_timeout": 5},
        task_publish_retry=False,
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
        timezone="UTC",
    )
    return celery


def _forget_connections() -> None:
    """Drop pooled connections to a previously configured broker.

    Celery keeps its broker pools for the app's lifetime and offers no public reset; this
    is what it does itself after a fork. Only matters when one process is configured
    twice (tests); a deployment configures once.
    """
    pool = getattr(celery, "_pool", None)
    if pool is not None:
        pool.force_close_all()
    celery._pool = None  # type: ignore[attr-defined]
    amqp = celery.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


class CeleryDispatcher:
    """Hands work to Celery; a broker outage is logged, not raised (the reconciler recovers)."""

    def request_changed(self, request_id: uuid.UUID) -> None:
        process_request_task.apply_async(
            args=(str(request_id),),
            kwargs={"correlation_id": context.correlation_id.get()},
            retry=False,
        )

    def route_servers_changed(self) -> None:
        sync_route_servers_task.apply_async(retry=False)


@cache
def _worker_context() -> JobContext:
    from ztix.jobs.context import build_context

    return build_context(load_settings(), CeleryDispatcher())


@celery.task(name="ztix.process_request", bind=True)
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


@celery.task(name="ztix.sync_route_servers")
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
