"""The seam between the workflow and the job system.

Services never call a queue directly: they ask for work with :func:`after_commit`, and the
:class:`Dispatcher` is told only once the transaction that made the work necessary has
committed. A rolled-back transaction dispatches nothing. Losing a dispatch only delays the
work: the reconciler (jobs) re-dispatches anything the database says is outstanding.
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

_PENDING = "ztix.dispatch.pending"


class Dispatcher(Protocol):
    def request_changed(self, request_id: uuid.UUID) -> None:
        """A request now needs work (approved, retried, leaving)."""


class NoDispatcher:
    """Used until a job runner is configured: work stays in the database, nothing runs."""

    def request_changed(self, request_id: uuid.UUID) -> None:
        log.debug("no job runner configured; request %s waits in the database", request_id)


def after_commit(db: Session, request_id: uuid.UUID) -> None:
    db.info.setdefault(_PENDING, []).append(request_id)


def install(factory: sessionmaker[Session], dispatcher: Dispatcher) -> None:
    """Make sessions from ``factory`` hand their requested work to ``dispatcher`` on commit."""

    @event.listens_for(factory, "after_commit")
    def _dispatch(session: Session) -> None:
        pending: list[uuid.UUID] = session.info.pop(_PENDING, [])
        for request_id in dict.fromkeys(pending):
            try:
                dispatcher.request_changed(request_id)
            except Exception:
                # The commit stands; the reconciler will find the work.
                log.exception("dispatch of request %s failed", request_id)

    @event.listens_for(factory, "after_rollback")
    def _drop(session: Session) -> None:
        session.info.pop(_PENDING, None)
