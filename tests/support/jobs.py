"""Helpers of the job tests: submit a request as the CLI operator would, read it back, run
attempts as a worker would until it settles."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from ztix.config import Settings
from ztix.db.models import AuditEvent, JoinRequest, User
from ztix.db.session import Database
from ztix.jobs.tasks import JobContext, process_request
from ztix.workflow import audit, users
from ztix.workflow import requests as service

ADMIN = audit.Actor(name="root")


def submit(
    database: Database,
    settings: Settings,
    asn: int = 213035,
    node: str = "abcdef0123",
    network: int = 0,
    approve: bool = True,
) -> uuid.UUID:
    with database.session() as db:
        user = db.scalar(select(User).where(User.username == "op"))
        if user is None:
            user = users.create_local_user(
                db, audit.CLI, username="op", password="x" * 12, admin=True
            )
        nwid = settings.networks[network].zt_network_id
        request = service.create_request(
            db, settings, user, ADMIN, asn=asn, zt_network_id=nwid, node_id=node
        )
        if approve:
            service.approve(db, request.id, ADMIN)
        return request.id


def load(database: Database, request_id: uuid.UUID) -> JoinRequest:
    with database.session() as db:
        request = db.get(JoinRequest, request_id)
        assert request is not None
        request.addresses  # noqa: B018  (load before the session closes)
        request.network  # noqa: B018
        return request


def actions(database: Database, request_id: uuid.UUID) -> list[str]:
    with database.session() as db:
        return list(
            db.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.request_id == request_id)
                .order_by(AuditEvent.id)
            )
        )


def run_until_settled(ctx: JobContext, request_id: uuid.UUID, limit: int = 40) -> None:
    """Run attempts as a worker would, waiting out the retry delays (they are tiny here),
    until the request reaches a state no job acts on."""
    import time

    for _ in range(limit):
        outcome = process_request(ctx, request_id)
        if load(database=ctx.database, request_id=request_id).status in SETTLED:
            return
        time.sleep(outcome.retry_in if outcome.retry_in is not None else 0.05)
    raise AssertionError(f"request {request_id} did not settle")


SETTLED = {"active", "failed", "removed"}
