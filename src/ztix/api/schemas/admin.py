"""The admin's view of join requests and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from ztix.api.schemas.common import NO_NUL, AsciiDigits, Page
from ztix.api.schemas.requests import JoinRequestOut, PolicyVerdictOut
from ztix.db.models import AuditEvent, JoinRequest
from ztix.domain.requests import RequestStatus
from ztix.workflow.approval import MAX_PREFIX_LIMIT, NOTE_LIMIT, Approval


class AuditEventOut(BaseModel):
    id: int
    occurred_at: datetime
    actor: str
    actor_user_id: int | None
    action: str
    target_type: str | None
    target_id: str | None
    request_id: uuid.UUID | None
    from_status: str | None
    to_status: str | None
    details: dict[str, Any]
    client_address: str | None
    correlation_id: str | None

    @classmethod
    def of(cls, e: AuditEvent) -> AuditEventOut:
        return cls(
            id=e.id,
            occurred_at=e.occurred_at,
            actor=e.actor,
            actor_user_id=e.actor_user_id,
            action=e.action,
            target_type=e.target_type,
            target_id=e.target_id,
            request_id=e.request_id,
            from_status=e.from_status,
            to_status=e.to_status,
            details=e.details,
            client_address=e.client_address,
            correlation_id=e.correlation_id,
        )


class AdminJoinRequestOut(JoinRequestOut):
    created_by: str | None
    decided_by: str | None
    policy_verdict: PolicyVerdictOut | None
    grant_lost_at: datetime | None = Field(
        description="When the requester lost the right to act for the ASN (PeeringDB no "
        "longer grants it) while the request was live; the member stays until an admin "
        "decides. Null: nothing lost"
    )
    max_prefix_ipv4_override: int | None = Field(
        description="The admin's IPv4 import limit on the route servers (null: PeeringDB's "
        "hint with headroom, or the default)"
    )
    max_prefix_ipv6_override: int | None
    approval_note: str | None = Field(description="The admin's note at approval (admins only)")

    @classmethod
    def of(cls, r: JoinRequest) -> AdminJoinRequestOut:
        return cls(
            **JoinRequestOut.of(r).model_dump(),
            created_by=r.created_by.username if r.created_by else None,
            decided_by=r.decided_by.username if r.decided_by else None,
            policy_verdict=PolicyVerdictOut.of(r.policy_verdict),
            grant_lost_at=r.grant_lost_at,
            max_prefix_ipv4_override=r.max_prefix_ipv4_override,
            max_prefix_ipv6_override=r.max_prefix_ipv6_override,
            approval_note=r.approval_note,
        )


class ApproveBody(BaseModel):
    """Approval with settings: the route servers' import limits for this member and a note
    for the other admins. Everything is optional; an empty body approves as before."""

    model_config = ConfigDict(extra="forbid")
    max_prefix_ipv4: Annotated[
        int | None,
        Field(ge=1, le=MAX_PREFIX_LIMIT, description="IPv4 import limit; null: not overridden"),
        AsciiDigits,
    ] = None
    max_prefix_ipv6: Annotated[
        int | None,
        Field(ge=1, le=MAX_PREFIX_LIMIT, description="IPv6 import limit; null: not overridden"),
        AsciiDigits,
    ] = None
    note: str = Field("", max_length=NOTE_LIMIT, pattern=NO_NUL)

    def approval(self) -> Approval:
        return Approval(self.max_prefix_ipv4, self.max_prefix_ipv6, self.note)


class AdminJoinRequestDetail(AdminJoinRequestOut):
    audit: list[AuditEventOut]


class AdminRequestPage(Page[AdminJoinRequestOut]):
    counts: dict[RequestStatus, int] = Field(
        description="Requests per status over the whole IX (not only this filter)"
    )
