"""Publishing jobs to Celery by name: what the API and the CLI need of Celery.

The tasks themselves (``jobs/celery_app.py``) import every job's code: the route-server
renderer and its Jinja2 templates, the ZeroTier and PeeringDB clients, the mailer. A process
that only hands work to the workers needs none of it (issue 17, P6: an HTTP worker imports
nothing it does not use), so it configures the same Celery app here and sends tasks by their
registered names; ``jobs/celery_app.py`` registers the tasks on this app and adds the beat
schedule for the worker. An HTTP worker imports Celery itself (with kombu, billiard, click,
dateutil: about 120 modules) only when it first publishes: :class:`CeleryDispatcher` given
the settings configures the app then.
"""

from __future__ import annotations

import functools
import threading
import uuid
from typing import TYPE_CHECKING

from ztix import context

if TYPE_CHECKING:
    from celery import Celery

    from ztix.config import Settings


@functools.cache
def app() -> Celery:
    """The one Celery app of the process (its tasks: jobs/celery_app.py)."""
    from celery import Celery

    return Celery("ztix")


# The registered names (``@celery.task(name=…)`` in jobs/celery_app.py).
PROCESS_REQUEST = "ztix.process_request"
SYNC_ROUTE_SERVERS = "ztix.sync_route_servers"


def configure(settings: Settings) -> Celery:
    """Point the Celery app at the configured broker (what publishing needs); the worker's
    ``celery_app.configure`` adds the beat schedule."""
    _forget_connections()
    celery = app()
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
        timezone="UTC",
    )
    return celery


def _forget_connections() -> None:
    """Drop pooled connections to a previously configured broker.

    Celery keeps its broker pools for the app's lifetime and offers no public reset; this
    is what it does itself after a fork. Only matters when one process is configured
    twice (tests); a deployment configures once.
    """
    celery = app()
    pool = getattr(celery, "_pool", None)
    if pool is not None:
        pool.force_close_all()
    celery._pool = None  # type: ignore[attr-defined]
    amqp = celery.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


class CeleryDispatcher:
    """Hands work to Celery; a broker outage is logged, not raised (the reconciler recovers).

    Given ``settings``, it configures the app (importing Celery) when it first publishes;
    without, the process has configured it already (the worker, the CLI)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._lock = threading.Lock()

    def _app(self) -> Celery:
        if self._settings is not None:
            with self._lock:
                if self._settings is not None:
                    configure(self._settings)
                    self._settings = None
        return app()

    def request_changed(self, request_id: uuid.UUID) -> None:
        self._app().send_task(
            PROCESS_REQUEST,
            args=(str(request_id),),
            kwargs={"correlation_id": context.correlation_id.get()},
            retry=False,
        )

    def route_servers_changed(self) -> None:
        self._app().send_task(SYNC_ROUTE_SERVERS, retry=False)
