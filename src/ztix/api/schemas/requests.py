"""Join requests as members see them, and what they need to file one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement, or_
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from ztix.api.schemas.auth import AsnOut
from ztix.api.schemas.common import NO_NUL
from ztix.db import json_text as jsql
from ztix.db.models import IxNetwork, JoinRequest
from ztix.domain.identifiers import (
    InvalidIdentifier,
    normalize_network_id,
    normalize_node_id,
    validate_asn,
)
from ztix.domain.policy import CheckStatus, Decision, Reason
from ztix.domain.requests import RequestStatus


class NetworkOut(BaseModel):
    zt_network_id: str
    name: str
    description: str
    ipv4_prefix: str
    ipv6_prefix: str

    @classmethod
    def of(cls, n: IxNetwork) -> NetworkOut:
        return cls(
            zt_network_id=n.zt_network_id,
            name=n.name,
            description=n.description,
            ipv4_prefix=n.ipv4_prefix,
            ipv6_prefix=n.ipv6_prefix,
        )


def _as_code(fn: Any, value: Any, **kwargs: Any) -> Any:
    try:
        return fn(value, **kwargs)
    except InvalidIdentifier as exc:
        # The error type is the registered problem code (see api.problems).
        raise PydanticCustomError(exc.code, exc.detail) from exc


class JoinRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asn: int = Field(description="The ASN to peer as (public ASNs only)")
    zt_network_id: str = Field(description="The IX's ZeroTier network ID, 16 hex digits")
    node_id: str = Field(description="Your router's ZeroTier node ID (`zerotier-cli info`)")
    notes: str = Field("", max_length=2000, pattern=NO_NUL)

    @field_validator("asn", mode="before")
    @classmethod
    def _asn(cls, value: Any) -> int:
        # Shape only here; whether private ASNs are allowed is the service's decision.
        asn: int = _as_code(validate_asn, value, allow_private=True)
        return asn

    @field_validator("node_id", mode="before")
    @classmethod
    def _node(cls, value: Any) -> str:
        node: str = _as_code(normalize_node_id, value)
        return node

    @field_validator("zt_network_id", mode="before")
    @classmethod
    def _nwid(cls, value: Any) -> str:
        nwid: str = _as_code(normalize_network_id, value)
        return nwid


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)


class LastError(BaseModel):
    code: str
    message: str | None
    system: str | None


class MembershipOut(BaseModel):
    """The member on the IX's ZeroTier network, as ZT-IX last read it back."""

    node_id: str
    zt_network_id: str
    authorized: bool | None
    ipv4: str | None
    ipv6: str | None
    provider: str | None
    last_synced_at: datetime | None
    join_command: str

    @classmethod
    def of(cls, r: JoinRequest) -> MembershipOut | None:
        if not r.addresses and r.zt_synced_at is None:
            return None
        return cls(
            node_id=r.node_id,
            zt_network_id=r.network.zt_network_id,
            authorized=r.zt_authorized,
            ipv4=r.address(4),
            ipv6=r.address(6),
            provider=r.zt_provider,
            last_synced_at=r.zt_synced_at,
            join_command=f"zerotier-cli join {r.network.zt_network_id}",
        )


class PolicyReasonOut(BaseModel):
    code: Reason
    message: str


class PolicyOut(BaseModel):
    """The eligibility policy's verdict as the member sees it: the decision and why a human
    must look. The checks' evidence (which list entry matched, the requester's perms, the
    daily count) is the IX's own business and only admins see it (``policy_verdict``)."""

    decision: Decision
    reasons: list[PolicyReasonOut]

    @classmethod
    def of(cls, record: dict[str, Any] | None) -> PolicyOut | None:
        return None if record is None else cls.model_validate(record, strict=False)


class PolicyCheckOut(BaseModel):
    name: str = Field(description="The check, e.g. asn_denylist, peeringdb_route_servers")
    rule: str = Field(description="The configuration key that states the rule")
    status: CheckStatus
    detail: str
    evidence: dict[str, Any] = Field(
        description="What decided it: the list entry matched, the PeeringDB field and value"
    )


class PolicyVerdictOut(PolicyOut):
    """The whole verdict, for admins."""

    auto_approval: bool = Field(description="Whether policy_auto was on when it was made")
    evaluated_at: datetime
    denied_by: str | None
    checks: list[PolicyCheckOut]

    @classmethod
    def of(cls, record: dict[str, Any] | None) -> PolicyVerdictOut | None:
        return None if record is None else cls.model_validate(record, strict=False)


class JoinRequestOut(BaseModel):
    id: uuid.UUID
    asn: int
    zt_network_id: str
    network_name: str
    node_id: str
    status: RequestStatus
    notes: str
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    decision_reason: str | None
    approved_by_policy: bool
    attempts: int
    next_attempt_at: datetime | None
    last_error: LastError | None
    membership: MembershipOut | None
    policy: PolicyOut | None = Field(
        description="The eligibility policy's decision at creation and why a human must look "
        "(null for requests older than the policy)"
    )

    @classmethod
    def of(cls, r: JoinRequest) -> JoinRequestOut:
        return cls(
            id=r.id,
            asn=r.asn,
            zt_network_id=r.network.zt_network_id,
            network_name=r.network.name,
            node_id=r.node_id,
            status=RequestStatus(r.status),
            notes=r.notes,
            created_at=r.created_at,
            updated_at=r.updated_at,
            decided_at=r.decided_at,
            decision_reason=r.decision_reason,
            approved_by_policy=r.approved_by_policy,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at,
            membership=MembershipOut.of(r),
            policy=PolicyOut.of(r.policy_verdict),
            last_error=(
                LastError(
                    code=r.last_error_code,
                    message=r.last_error_message,
                    system=r.last_error_system,
                )
                if r.last_error_code
                else None
            ),
        )


def member_item_json(c: ReadOnlyColumnCollection[str, Any]) -> ColumnElement[str]:
    """The JSON of :class:`JoinRequestOut` as a SQL expression over the columns of a page of
    ``workflow.listing.member_page``: the same keys in the same order, the same bytes
    ``JoinRequestOut.of(...).model_dump_json()`` writes for the same request
    (``tests/api/test_perf_member_list.py`` compares them on both databases). The database
    writes a hundred items faster than Python builds and encodes them (issue 17, P4)."""
    nwid = c.zt_network_id
    membership = jsql.json_object(
        [
            ("node_id", jsql.value(c.node_id)),
            ("zt_network_id", jsql.value(nwid)),
            ("authorized", jsql.boolean(c.zt_authorized)),
            ("ipv4", jsql.value(c.ipv4)),
            ("ipv6", jsql.value(c.ipv6)),
            ("provider", jsql.value(c.zt_provider)),
            ("last_synced_at", jsql.timestamp(c.zt_synced_at)),
            ("join_command", jsql.value(jsql.text("zerotier-cli join ", nwid))),
        ]
    )
    last_error = jsql.json_object(
        [
            ("code", jsql.value(c.last_error_code)),
            ("message", jsql.value(c.last_error_message)),
            ("system", jsql.value(c.last_error_system)),
        ]
    )
    return jsql.json_object(
        [
            ("id", jsql.uuid(c.id)),
            ("asn", jsql.value(c.asn)),
            ("zt_network_id", jsql.value(nwid)),
            ("network_name", jsql.value(c.network_name)),
            ("node_id", jsql.value(c.node_id)),
            ("status", jsql.value(c.status)),
            ("notes", jsql.value(c.notes)),
            ("created_at", jsql.timestamp(c.created_at)),
            ("updated_at", jsql.timestamp(c.updated_at)),
            ("decided_at", jsql.timestamp(c.decided_at)),
            ("decision_reason", jsql.value(c.decision_reason)),
            ("approved_by_policy", jsql.boolean(c.approved_by_policy)),
            ("attempts", jsql.value(c.attempts)),
            ("next_attempt_at", jsql.timestamp(c.next_attempt_at)),
            ("last_error", jsql.nullable(jsql.filled(c.last_error_code), last_error)),
            (
                "membership",
                jsql.nullable(
                    or_(c.ipv4.is_not(None), c.ipv6.is_not(None), c.zt_synced_at.is_not(None)),
                    membership,
                ),
            ),
            ("policy", jsql.raw(c.policy_summary)),
        ]
    )


class OnboardingContext(BaseModel):
    asns: list[AsnOut]
    networks: list[NetworkOut]
    approval_mode: Literal["manual_admin", "policy_auto"]
    allow_private_asns: bool
