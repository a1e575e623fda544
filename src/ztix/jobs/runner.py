"""The in-process job runner of the embedded default: a thread pool inside `ztix serve`.

It runs the same job code as the Celery workers (``ztix.jobs.tasks``). Retries are timers;
the reconciler is a thread that runs every ``jobs.reconcile_interval_seconds``, the
PeeringDB re-check another (``tasks.recheck_interval_seconds``). Nothing is
kept in memory that the database does not also hold: a restart loses timers, and the
reconciler finds the work again.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ztix import context
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


class InProcessRunner:
    """A :class:`~ztix.workflow.dispatch.Dispatcher` that runs jobs on local threads."""

    def __init__(self, threads: int = 4, reconcile_interval: float = 30.0) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ztix-job")
        self._interval = reconcile_interval
        self._stop = threading.Event()
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._periodic: list[threading.Thread] = []
        self._sync_queued = threading.Event()
        self.ctx: JobContext | None = None

    def bind(self, ctx: JobContext) -> None:
        """Jobs need a context that itself names this runner as its dispatcher."""
        self.ctx = ctx

    def request_changed(self, request_id: uuid.UUID) -> None:
        if self._stop.is_set():
            return
        # The job logs under the correlation ID of whatever asked for it (an HTTP request).
        self._pool.submit(self._run, request_id, context.correlation_id.get())

    def route_servers_changed(self) -> None:
        # One queued sync is enough: it reads the database when it starts, so it covers
        # every change made before then (the rest fold in through the server leases).
        if self._stop.is_set() or self._sync_queued.is_set():
            return
        self._sync_queued.set()
        self._pool.submit(self._sync)

    def _sync(self) -> None:
        assert self.ctx is not None
        self._sync_queued.clear()
        try:
            sync_route_servers(self.ctx)
        except Exception:
            log.exception("route-server sync crashed; the reconciler will retry it")

    def _run(self, request_id: uuid.UUID, correlation_id: str | None = None) -> None:
        assert self.ctx is not None, "bind() the runner before dispatching"
        token = context.correlation_id.set(correlation_id)
        try:
            try:
                outcome = process_request(self.ctx, request_id)
            except Exception:
                log.exception(
                    "job for request %s crashed; the reconciler will retry it", request_id
                )
                return
            if outcome.retry_in is not None:
                self._later(outcome.retry_in, request_id)
        finally:
            context.correlation_id.reset(token)

    def _later(self, delay: float, request_id: uuid.UUID) -> None:
        correlation_id = context.correlation_id.get()

        def fire() -> None:
            with self._lock:
                self._timers.discard(timer)
            context.correlation_id.set(correlation_id)  # the timer's own thread
            self.request_changed(request_id)

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        with self._lock:
            if self._stop.is_set():
                return
            self._timers.add(timer)
        timer.start()

    def reconcile_now(self) -> dict[str, int]:
        assert self.ctx is not None
        return reconcile(self.ctx)

    def recheck_now(self) -> dict[str, int]:
        assert self.ctx is not None
        return recheck_peeringdb(self.ctx)

    def irr_now(self) -> dict[str, int]:
        assert self.ctx is not None
        return refresh_irr(self.ctx)

    def notify_now(self) -> dict[str, int]:
        assert self.ctx is not None
        return deliver_notifications(self.ctx)

    def start(self) -> None:
        """Start the periodic reconciler and re-check (their first passes run at once)."""
        assert self.ctx is not None, "bind() the runner before starting it"
        self._every("reconciler", self._interval, self.reconcile_now)
        self._every("recheck", recheck_interval_seconds(self.ctx.settings), self.recheck_now)
        if self.ctx.settings.irr.enabled:
            self._every("irr", self.ctx.settings.irr.refresh_interval_seconds, self.irr_now)
        self._every("notifications", self.ctx.settings.notifications.poll_seconds, self.notify_now)

    def _every(self, name: str, interval: float, job: Callable[[], object]) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    job()
                except Exception:
                    log.exception("%s pass failed", name)
                self._stop.wait(interval)

        thread = threading.Thread(target=loop, name=f"ztix-{name}", daemon=True)
        self._periodic.append(thread)
        thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        for thread in self._periodic:
            thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
