"""The reconciler re-dispatches queued work only once its lease has expired (issue 13), on
SQLite and PostgreSQL: work waiting in a slow queue is not queued again on every pass, a
re-dispatch is counted, and however many copies of a dispatch reach workers at once, each
request is worked exactly once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.support.jobs import actions, load, submit
from tests.support.zt_fixtures import QueueDispatcher
from ztix import observability
from ztix.db.base import utcnow
from ztix.db.models import JoinRequest
from ztix.db.session import Database
from ztix.jobs.tasks import JobContext, process_request, reconcile

# On PostgreSQL too: leases are claimed with SKIP LOCKED by concurrent workers.
pytestmark = pytest.mark.both_databases


def _age(database: Database, seconds: float) -> None:
    """Move every request's timestamps ``seconds`` into the past."""
    then = utcnow() - timedelta(seconds=seconds)
    with database.session() as db:
        db.execute(update(JoinRequest).values(updated_at=then))
        db.execute(
            update(JoinRequest)
            .where(JoinRequest.lease_expires_at.is_not(None))
            .values(lease_expires_at=then)
        )


def test_queued_work_is_redispatched_only_after_its_lease_and_never_runs_twice(
    job_context: Callable[..., JobContext], database: Database
) -> None:
    metrics = observability.Metrics()
    dispatcher = QueueDispatcher()
    ctx = job_context(dispatcher=dispatcher)
    lease = ctx.settings.jobs.lease_seconds
    rids = [submit(database, ctx.settings, node=f"abcdef10{i:02d}") for i in range(6)]
    assert sorted(dispatcher.queue) == sorted(rids)  # the approvals' own dispatches

    # The queue is slow: nobody has taken the work yet. Passes within the lease add nothing.
    for _ in range(3):
        assert reconcile(ctx)["dispatched"] == 0
    assert len(dispatcher.queue) == len(rids)

    _age(database, lease + 1)  # the approvals' dispatches had a full lease to be taken
    assert reconcile(ctx)["dispatched"] == len(rids)
    assert reconcile(ctx)["dispatched"] == 0  # the re-dispatch holds a queued lease now
    assert metrics.registry.get_sample_value("ztix_reconciler_redispatches_total") == len(rids)
    assert sorted(dispatcher.queue) == sorted(rids + rids)

    # Every copy of every dispatch reaches a worker, all at once.
    workers = [job_context(ctx.settings) for _ in range(4)]
    barrier = threading.Barrier(len(dispatcher.queue))
    done: list[uuid.UUID] = []
    lock = threading.Lock()

    def deliver(i: int, rid: uuid.UUID) -> None:
        barrier.wait()
        if process_request(workers[i % len(workers)], rid).done:
            with lock:
                done.append(rid)

    threads = [
        threading.Thread(target=deliver, args=(i, rid)) for i, rid in enumerate(dispatcher.queue)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(done) == sorted(rids)  # one copy of each did the work
    for rid in rids:
        request = load(database, rid)
        assert (request.status, request.attempts) == ("active", 1)
        assert actions(database, rid).count("provisioning.started") == 1
    assert reconcile(ctx)["dispatched"] == 0


def test_an_expired_queued_lease_is_dispatched_again(
    job_context: Callable[..., JobContext], database: Database
) -> None:
    """A re-dispatch that is lost too (the broker dropped it) is sent once more, but only
    when its queued lease has run out."""
    dispatcher = QueueDispatcher()
    ctx = job_context(dispatcher=dispatcher)
    lease = ctx.settings.jobs.lease_seconds
    rid = submit(database, ctx.settings, node="abcdef1100")
    _age(database, lease + 1)
    assert reconcile(ctx)["dispatched"] == 1
    assert reconcile(ctx)["dispatched"] == 0
    _age(database, 1)  # the queued lease has run out
    assert reconcile(ctx)["dispatched"] == 1
    assert process_request(ctx, rid).done
    assert load(database, rid).attempts == 1
