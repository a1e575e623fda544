"""The ZT-IX data model. Every table lives here; migrations under ``migrations/``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ztix.db.base import Base, BigIntPK, UTCDateTime, utcnow
from ztix.domain.requests import CLOSED_STATUSES, NODE_HOLDING_STATUSES, RequestStatus

_CLOSED_SQL = ", ".join(f"'{s.value}'" for s in sorted(CLOSED_STATUSES))
OPEN_REQUEST_WHERE = text(f"status NOT IN ({_CLOSED_SQL})")
_HOLDING_SQL = ", ".join(f"'{s.value}'" for s in sorted(NODE_HOLDING_STATUSES))
NODE_HOLDER_WHERE = text(f"status IN ({_HOLDING_SQL})")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20), default="operator")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    peeringdb_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # PeeringDB users: when PeeringDB last confirmed their networks (a login or a
    # successful re-check). Sessions are refused once this is older than
    # ``peeringdb.recheck_max_age_hours``.
    peeringdb_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The user's choice: e-mail notifications about their requests (admins: the queue's).
    notify_email: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))

    asns: Mapped[list[UserAsn]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserAsn.asn"
    )
    network_grants: Mapped[list[UserNetworkGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    credential: Mapped[LocalCredential | None] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    __table_args__ = (CheckConstraint("role IN ('admin', 'operator')", name="role"),)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and getattr(self, TOKEN_SCOPE, None) in (None, ADMIN_SCOPE)

    def held_asns(self) -> set[int]:
        """The ASNs this user may act for now; an API token acting for them narrows this to
        the ASNs it names (``auth/api_tokens.py``)."""
        held = {a.asn for a in self.asns}
        scope = getattr(self, TOKEN_SCOPE, None)
        return held if scope is None or scope is ADMIN_SCOPE else held & scope


# An API token acting for a user, for one request (never stored): set on the loaded ``User``
# by ``auth/api_tokens.py``. ``ADMIN_SCOPE`` for an admin token, else the token's ASNs;
# a member token never has admin rights, whoever owns it.
TOKEN_SCOPE = "_ztix_token_scope"  # noqa: S105 - an attribute name
ADMIN_SCOPE: frozenset[int] = frozenset({-1})


class LocalCredential(Base):
    __tablename__ = "local_credentials"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="credential")


class UserAsn(Base):
    """An ASN a user may act for, and where that right came from."""

    __tablename__ = "user_asns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    asn: Mapped[int] = mapped_column(BigInteger, index=True)
    source: Mapped[str] = mapped_column(String(20))  # "peeringdb" or "local"
    peeringdb_perms: Mapped[int | None] = mapped_column(Integer)
    network_name: Mapped[str] = mapped_column(String(255), default="")
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="asns")

    __table_args__ = (
        UniqueConstraint("user_id", "asn", "source", name="uq_user_asns_user_asn_source"),
        CheckConstraint("source IN ('peeringdb', 'local')", name="source"),
    )


class UserNetworkGrant(Base):
    """Restricts a user to some IX networks; a user with no grants may join any active one."""

    __tablename__ = "user_network_grants"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    network_id: Mapped[int] = mapped_column(
        ForeignKey("ix_networks.id", ondelete="CASCADE"), primary_key=True
    )

    user: Mapped[User] = relationship(back_populates="network_grants")
    network: Mapped[IxNetwork] = relationship()


class UserSession(Base):
    """A server-side login session; the cookie holds a random token, the table its hash."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(20))  # "local" or "peeringdb"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_address: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A token for automation (``Authorization: Bearer``): the secret is shown once, the
    table keeps its SHA-256. A member token acts for the ASNs it names that its owner still
    holds; an admin token (admins only) acts as its admin. ``can_write`` adds writes to reads."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))  # "member" or "admin"
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists, not secret
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)
    asns: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    __table_args__ = (CheckConstraint("kind IN ('member', 'admin')", name="kind"),)


class Webhook(Base):
    """A URL a member or an admin wants JSON events POSTed to, signed with HMAC-SHA256 under
    ``secret`` (encrypted at rest under ``peeringdb.token_keys`` when set)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(Base):
    """The outbox: one message to one recipient (an e-mail address or a webhook), written in
    the transaction of the change it tells about and sent by the delivery job. Rows are
    kept: they are the delivery log their owner sees."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    event: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    channel: Mapped[str] = mapped_column(String(10))  # "email" or "webhook"
    # Whose delivery log shows it: the recipient user, or the webhook's owner.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    address: Mapped[str | None] = mapped_column(String(320))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("channel IN ('email', 'webhook')", name="channel"),
        CheckConstraint("status IN ('pending', 'sent', 'gave_up', 'skipped')", name="status"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )


class PeeringDBToken(Base):
    """A PeeringDB user's OAuth tokens, encrypted (``auth/tokens.py``), for the periodic
    re-check of their networks, and how the last re-check went."""

    __tablename__ = "peeringdb_tokens"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    access_token: Mapped[str] = mapped_column(Text)  # ciphertext
    refresh_token: Mapped[str | None] = mapped_column(Text)  # ciphertext
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The re-check: claimed by setting last_attempt_at (one worker per user and period).
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship()


class OidcLoginState(Base):
    """One PeeringDB login attempt: single-use state bound to the browser that started it."""

    __tablename__ = "oidc_login_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    browser_binding_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IxNetwork(Base):
    """An IX peering LAN: a ZeroTier network with its IPv4 and IPv6 peering prefixes."""

    __tablename__ = "ix_networks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zt_network_id: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    ipv4_prefix: Mapped[str] = mapped_column(String(43))
    ipv6_prefix: Mapped[str] = mapped_column(String(43))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class JoinRequest(Base):
    """A network's request to put one router (node ID) on one IX network for one ASN."""

    __tablename__ = "join_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    asn: Mapped[int] = mapped_column(BigInteger)
    network_id: Mapped[int] = mapped_column(ForeignKey("ix_networks.id"))
    node_id: Mapped[str] = mapped_column(String(10))
    status: Mapped[RequestStatus] = mapped_column(String(20), default=RequestStatus.PENDING)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    approved_by_policy: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error_code: Mapped[str | None] = mapped_column(String(64))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    last_error_system: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Job system: who works the request until when, and when the next attempt is due.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The member on ZeroTier as last read back.
    zt_provider: Mapped[str | None] = mapped_column(String(32))
    zt_authorized: Mapped[bool | None] = mapped_column(Boolean)
    zt_revision: Mapped[int | None] = mapped_column(BigInteger)
    zt_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Admin overrides of the route servers' import limits for this member.
    max_prefix_ipv4_override: Mapped[int | None] = mapped_column(Integer)
    max_prefix_ipv6_override: Mapped[int | None] = mapped_column(Integer)
    # ... and of their receive limits (routes received before filtering).
    receive_limit_ipv4_override: Mapped[int | None] = mapped_column(Integer)
    receive_limit_ipv6_override: Mapped[int | None] = mapped_column(Integer)
    # The member's BGP session password (TCP MD5), encrypted with the route-server keys
    # (MultiFernet); never returned by the API.
    bgp_password_encrypted: Mapped[str | None] = mapped_column(Text)
    # The admin's note at approval (admins see it; the member does not).
    approval_note: Mapped[str | None] = mapped_column(Text)
    # The eligibility policy's verdict, made once at creation (domain/policy.py); None for
    # requests older than the policy.
    policy_verdict: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What the member sees of it (decision and reasons) as JSON text, written with it
    # (domain.policy.member_summary): the member's list sends it as is.
    policy_summary: Mapped[str | None] = mapped_column(Text)
    # Set when the requester lost the right to act for the ASN while the member was live:
    # the member stays, the admin queue flags it for a decision.
    grant_lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    network: Mapped[IxNetwork] = relationship(lazy="joined", innerjoin=True)
    addresses: Mapped[list[AddressAssignment]] = relationship(
        back_populates="request", order_by="AddressAssignment.family", lazy="selectin"
    )
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s.value}'" for s in RequestStatus) + ")",
            name="status",
        ),
        # DESIGN §3: at most one open request per (ASN, network, node), enforced by the DB.
        Index(
            "uq_join_requests_open",
            "asn",
            "network_id",
            "node_id",
            unique=True,
            postgresql_where=OPEN_REQUEST_WHERE,
            sqlite_where=OPEN_REQUEST_WHERE,
        ),
        # DESIGN §3: a node belongs to one member per IX network, across all ASNs.
        Index(
            "uq_join_requests_node_holder",
            "network_id",
            "node_id",
            unique=True,
            postgresql_where=NODE_HOLDER_WHERE,
            sqlite_where=NODE_HOLDER_WHERE,
        ),
        # The admin queue: newest first, optionally by status / ASN / network.
        Index("ix_join_requests_created", "created_at", "id"),
        Index("ix_join_requests_status_created", "status", "created_at", "id"),
        Index("ix_join_requests_asn_created", "asn", "created_at", "id"),
        Index("ix_join_requests_network_created", "network_id", "created_at", "id"),
        # The reconciler looks for work by status and due time.
        Index("ix_join_requests_status_due", "status", "next_attempt_at"),
        # The admin queue's "grant lost" filter: only flagged rows are indexed.
        Index(
            "ix_join_requests_grant_lost",
            "grant_lost_at",
            postgresql_where=text("grant_lost_at IS NOT NULL"),
            sqlite_where=text("grant_lost_at IS NOT NULL"),
        ),
    )

    def address(self, family: int) -> str | None:
        return next((a.address for a in self.addresses if a.family == family), None)


class RequestPolicyReason(Base):
    """One reason the policy left a request to a human (a row per reason of its verdict):
    the admin queue's "needs a human because …" filter."""

    __tablename__ = "request_policy_reasons"

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("join_requests.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(String(40), primary_key=True)

    __table_args__ = (Index("ix_request_policy_reasons_reason", "reason", "request_id"),)


class AddressAssignment(Base):
    """A peering-LAN address held by a request. Unique per network: two workers can never
    hand out the same address. Deleted (released) when the member leaves."""

    __tablename__ = "address_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("ix_networks.id"))
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("join_requests.id", ondelete="CASCADE")
    )
    family: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(45))
    asn: Mapped[int] = mapped_column(BigInteger)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[JoinRequest] = relationship(back_populates="addresses")

    __table_args__ = (
        UniqueConstraint("network_id", "address", name="uq_address_assignments_network_address"),
        UniqueConstraint("request_id", "family", name="uq_address_assignments_request_family"),
        CheckConstraint("family IN (4, 6)", name="family"),
        Index("ix_address_assignments_network_asn", "network_id", "family", "asn"),
    )


class RequestStatusCount(Base):
    """Running count of requests per IX network and status, kept in the transaction of every
    transition; a row per (network, status) is made with the network.

    It lets the admin queue show totals and per-status counts without counting every row.
    """

    __tablename__ = "request_status_counts"

    network_id: Mapped[int] = mapped_column(
        ForeignKey("ix_networks.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class AuditEvent(Base):
    """Append-only record of who did what to which object, from where."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Who acted, in words: a username, "cli", "policy", "system", "anonymous".
    actor: Mapped[str] = mapped_column(String(150))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client_address: Mapped[str | None] = mapped_column(String(64))
    correlation_id: Mapped[str | None] = mapped_column(String(64))


class PeeringDBNetwork(Base):
    """PeeringDB's `net` record of an ASN, cached (PeeringDB rate-limits hard)."""

    __tablename__ = "peeringdb_networks"

    asn: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    found: Mapped[bool] = mapped_column(Boolean)  # False: PeeringDB has no net for this ASN
    name: Mapped[str] = mapped_column(String(255), default="")
    info_prefixes4: Mapped[int | None] = mapped_column(Integer)
    info_prefixes6: Mapped[int | None] = mapped_column(Integer)
    irr_as_set: Mapped[str] = mapped_column(String(255), default="")
    info_never_via_route_servers: Mapped[bool] = mapped_column(Boolean, default=False)
    policy_general: Mapped[str] = mapped_column(String(32), default="")
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RouteServerState(Base):
    """What each route server should run and what it last ran, and its sync lease."""

    __tablename__ = "route_server_states"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    desired_hash: Mapped[str | None] = mapped_column(String(64))
    applied_hash: Mapped[str | None] = mapped_column(String(64))
    peers_desired: Mapped[int] = mapped_column(Integer, default=0)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_result: Mapped[str | None] = mapped_column(String(16))  # applied|unchanged|failed
    last_stage: Mapped[str | None] = mapped_column(String(32))
    last_exit_status: Mapped[int | None] = mapped_column(Integer)
    last_output: Mapped[str | None] = mapped_column(Text)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    reconfigure_count: Mapped[int] = mapped_column(Integer, default=0)
    # Folding: a trigger while a sync runs only moves this; the running sync goes again.
    sync_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Drained for maintenance: every route it exports carries GRACEFUL_SHUTDOWN (RFC 8326).
    drained: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    drained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    drained_by: Mapped[str | None] = mapped_column(String(200))


class RouteServerPeer(Base):
    """A member as a client of one route server: its limits, and whether it is applied."""

    __tablename__ = "route_server_peers"

    server: Mapped[str] = mapped_column(String(32), primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("join_requests.id", ondelete="CASCADE"), primary_key=True
    )
    asn: Mapped[int] = mapped_column(BigInteger)
    max_prefix_ipv4: Mapped[int] = mapped_column(Integer)
    max_prefix_ipv6: Mapped[int] = mapped_column(Integer)
    # override | peeringdb | default (no data) | default (peeringdb unavailable)
    max_prefix_source: Mapped[str] = mapped_column(String(48))
    receive_limit_ipv4: Mapped[int | None] = mapped_column(Integer)
    receive_limit_ipv6: Mapped[int | None] = mapped_column(Integer)
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IrrData(Base):
    """A member ASN's IRR data: the last good expansion of its AS-SET and how the last
    attempt went. A failed or empty expansion changes only the attempt columns: the
    route servers keep filtering on the last good data."""

    __tablename__ = "irr_data"

    asn: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Set by an admin; wins over PeeringDB's irr_as_set. Validated (domain.irr) on input.
    as_set_override: Mapped[str | None] = mapped_column(String(255))
    # The objects of the last good expansion ("RIPE::AS-FOO AS-BAR") and where they came
    # from: override | peeringdb | asn.
    as_set: Mapped[str | None] = mapped_column(String(1024))
    as_set_choice: Mapped[str | None] = mapped_column(String(16))
    # None: never expanded successfully (routes are "IRR not checked").
    prefixes_ipv4: Mapped[list[str] | None] = mapped_column(JSON)
    prefixes_ipv6: Mapped[list[str] | None] = mapped_column(JSON)
    origins: Mapped[list[int] | None] = mapped_column(JSON)
    data_hash: Mapped[str | None] = mapped_column(String(64))
    # The IRR's serials of the configured sources when the data was last confirmed
    # (irr/serials.py); equal serials and AS-SET mean the data cannot have changed.
    serials: Mapped[str | None] = mapped_column(String(1024))
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last attempt's failure (None when it succeeded): stable code and words.
    last_error_code: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    failures_total: Mapped[int] = mapped_column(Integer, default=0)
