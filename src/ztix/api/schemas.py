"""Request and response bodies of the JSON API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from ztix.db.models import AuditEvent, IxNetwork, JoinRequest, User, UserAsn
from ztix.domain.identifiers import (
    InvalidIdentifier,
    normalize_network_id,
    normalize_node_id,
    parse_digits,
    validate_asn,
)
from ztix.domain.policy import CheckStatus, Decision, Reason
from ztix.domain.requests import RequestStatus

T = TypeVar("T")

# Numbers a query may carry stay within what the database's integers and Python's dates
# take: past them the query would fail with a server error rather than answer.
MAX_OFFSET = 2_147_483_647
MAX_AGE_MINUTES = 100 * 366 * 24 * 60  # a century

# PostgreSQL's text cannot hold NUL: text that is stored or looked up is refused at the door
# (422 validation_failed) rather than failing in the database (500).
NO_NUL = r"^[^\x00]*$"


def _ascii_int(value: Any) -> Any:
    """Whole numbers from users are JSON integers or the ASCII digits 0-9: pydantic alone
    would take "1_000", "+5", " 7 " and 5.0 too."""
    if isinstance(value, str):
        parsed = parse_digits(value)
        if parsed is None:
            raise PydanticCustomError(
                "validation_failed", "must be a whole number written with the digits 0-9"
            )
        return parsed
    if isinstance(value, bool | float):
        raise PydanticCustomError("validation_failed", "must be a whole number")
    return value


# Every integer a request carries (body or query) has this after its Query/Field, as in
# ``Annotated[int, Query(ge=1), AsciiDigits]``: the bounds stay in the OpenAPI document.
AsciiDigits = BeforeValidator(_ascii_int)

Limit = Annotated[int, Query(ge=1, le=200), AsciiDigits]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET), AsciiDigits]


class Page(BaseModel, Generic[T]):
    """The one pagination shape of every list."""

    items: list[T]
    total: int
    limit: int
    offset: int


# --- auth ------------------------------------------------------------------------------


class LocalLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=150, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=1024)


class AuthorizeUrl(BaseModel):
    authorize_url: str


class OidcCallback(BaseModel):
    """What PeeringDB put on the /auth/callback URL: ``code`` and ``state``, or ``error``."""

    model_config = ConfigDict(extra="forbid")
    state: str = Field(min_length=1, max_length=512, pattern=NO_NUL)
    code: str | None = Field(None, min_length=1, max_length=2048, pattern=NO_NUL)
    error: str | None = Field(None, max_length=200, pattern=NO_NUL)
    error_description: str | None = Field(None, max_length=1000, pattern=NO_NUL)


class AsnOut(BaseModel):
    asn: int
    source: Literal["peeringdb", "local"]
    network_name: str
    peeringdb_perms: int | None

    @classmethod
    def of(cls, a: UserAsn) -> AsnOut:
        return cls(
            asn=a.asn,
            source=a.source,
            network_name=a.network_name,
            peeringdb_perms=a.peeringdb_perms,
        )


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


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    email: str | None
    role: Literal["admin", "operator"]
    login_method: Literal["local", "peeringdb"]
    asns: list[AsnOut]
    csrf_token: str

    @classmethod
    def of(cls, user: User, csrf_token: str, method: str) -> MeOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            role=user.role,
            login_method=method,
            asns=[AsnOut.of(a) for a in user.asns],
            csrf_token=csrf_token,
        )


# --- join requests ---------------------------------------------------------------------


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

    @classmethod
    def of(cls, r: JoinRequest) -> AdminJoinRequestOut:
        return cls(
            **JoinRequestOut.of(r).model_dump(),
            created_by=r.created_by.username if r.created_by else None,
            decided_by=r.decided_by.username if r.decided_by else None,
            policy_verdict=PolicyVerdictOut.of(r.policy_verdict),
            grant_lost_at=r.grant_lost_at,
        )


class AdminJoinRequestDetail(AdminJoinRequestOut):
    audit: list[AuditEventOut]


class AdminRequestPage(Page[AdminJoinRequestOut]):
    counts: dict[RequestStatus, int] = Field(
        description="Requests per status over the whole IX (not only this filter)"
    )


class OnboardingContext(BaseModel):
    asns: list[AsnOut]
    networks: list[NetworkOut]
    approval_mode: Literal["manual_admin", "policy_auto"]
    allow_private_asns: bool
