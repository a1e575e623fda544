"""The append-only audit trail. Every state change writes its event in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from ztix import context
from ztix.auth.caller import Caller
from ztix.db.models import AuditEvent, User
from ztix.workflow import outbox


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user, or a named part of the system ("cli", "policy", "system")."""

    name: str
    user_id: int | None = None
    client_address: str | None = None
    # The API token the user acted through (its name and prefix, never the secret).
    token: str | None = None

    @classmethod
    def for_user(
        cls, user: User | Caller, client_address: str | None = None, *, token: str | None = None
    ) -> Actor:
        return cls(name=user.username, user_id=user.id, client_address=client_address, token=token)

    def via(self, name: str) -> Actor:
        """The same origin acting through a named mechanism (e.g. the approval policy)."""
        return replace(self, name=name, user_id=None)


CLI = Actor(name="cli")
SYSTEM = Actor(name="system")


def record(
    db: Session,
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | int | uuid.UUID | None = None,
    request_id: uuid.UUID | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor=actor.name,
        actor_user_id=actor.user_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        request_id=request_id,
        from_status=from_status,
        to_status=to_status,
        details={**(details or {}), **({"api_token": actor.token} if actor.token else {})},
        client_address=actor.client_address,
        correlation_id=context.correlation_id.get(),
    )
    db.add(event)
    if request_id is not None and to_status is not None:
        # A request changed state: its notifications go into the outbox in this transaction.
        outbox.request_changed(db, request_id, to_status, details)
    return event
