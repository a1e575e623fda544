"""The seam between the workflow and the job system.

Services never call a queue directly: they ask for work with :func:`after_commit` (a
request needs a job) or :func:`route_servers_after_commit` (the route servers' desired
configuration changed), and the :class:`Dispatcher` is told only once the transaction that
made the work necessary has committed. A rolled-back transaction dispatches nothing.
Losing a dispatch only delays the work: the reconciler re-dispatches anything the
database says is outstanding.
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

_PENDING = "ztix.dispatch.pending"
_ROUTE_SERVERS = "ztix.dispatch.route_servers"


class Dispatcher(Protocol):
    def request_changed(self, request_id: uuid.UUID) -> None:
        """A request now needs work (approved, retried, leaving)."""

    def route_servers_changed(self) -> None:
        """The route servers' desired configuration changed: sync them (folded)."""


class NoDispatcher:
    """Dispatches nothing: work stays in the database for a reconciler to find
    (one-off jobs and benchmarks that drive the job code themselves)."""

    def request_changed(self, request_id: uuid.UUID) -> None:
        log.debug("request %s waits in the database", request_id)

    def route_servers_changed(self) -> None:
        log.debug("route-server sync waits for the reconciler")


def after_commit(db: Session, request_id: uuid.UUID) -> None:
    db.info.setdefault(_PENDING, []).append(request_id)


def route_servers_after_commit(db: Session) -> None:
    db.info[_ROUTE_SERVERS] = True


def install(factory: sessionmaker[Session], dispatcher: Dispatcher) -> None:
    """Make sessions from ``factory`` hand their requested work to ``dispatcher`` on commit."""

    @event.listens_for(factory, "after_commit")
    def _dispatch(session: Session) -> None:
        pending: list[uuid.UUID] = session.info.pop(_PENDING, [])
        route_servers = session.info.pop(_ROUTE_SERVERS, False)
        try:
            for request_id in dict.fromkeys(pending):
                dispatcher.request_changed(request_id)
            if route_servers:
                dispatcher.route_servers_changed()
        except Exception:
            # The commit stands; the reconciler will find the work.
            log.exception("dispatch failed; the reconciler will pick the work up")

    @event.listens_for(factory, "after_rollback")
    def _drop(session: Session) -> None:
        session.info.pop(_PENDING, None)
        session.info.pop(_ROUTE_SERVERS, None)
