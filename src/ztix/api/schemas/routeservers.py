"""Route servers: sync state and BGP sessions, and a member's import limits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr

from ztix.api.schemas.common import AsciiDigits
from ztix.db.models import RouteServerState
from ztix.routeserver.apply import ProtocolState
from ztix.routeserver.status import limit_tripped


class SessionOut(BaseModel):
    protocol: str
    family: str
    state: str
    bgp_state: str | None
    since: datetime | None
    info: str
    last_error: str | None
    neighbor_address: str | None
    neighbor_as: int | None
    imported: int
    filtered: int
    exported: int
    import_limit: int | None
    receive_limit: int | None = None
    limit_tripped: Literal["receive", "import"] | None = Field(
        None, description="Which limit of the session tripped (routes dropped or session reset)"
    )
    request_id: uuid.UUID | None = Field(
        None,
        description="The member's request behind the session (admin listings; opens its "
        "looking glass)",
    )

    @classmethod
    def of(cls, p: ProtocolState) -> SessionOut:
        channel = next(iter(p.channels.values()), None)
        return cls(
            protocol=p.name,
            family="ipv6" if p.name.endswith("_v6") else "ipv4",
            state=p.state,
            bgp_state=p.bgp_state,
            since=p.since_at,
            info=p.info,
            last_error=p.last_error,
            neighbor_address=p.neighbor_address,
            neighbor_as=p.neighbor_as,
            imported=p.imported,
            filtered=p.filtered,
            exported=p.exported,
            import_limit=channel.import_limit if channel else None,
            receive_limit=channel.receive_limit if channel else None,
            limit_tripped=limit_tripped(p),
        )


class SyncStateOut(BaseModel):
    desired_hash: str | None
    applied_hash: str | None
    in_sync: bool
    peers: int
    last_sync_at: datetime | None
    last_result: str | None
    last_stage: str | None
    last_exit_status: int | None
    last_output: str | None
    last_duration_ms: int | None
    reconfigure_count: int
    drained: bool = False
    drained_at: datetime | None = None
    drained_by: str | None = None

    @classmethod
    def of(cls, row: RouteServerState | None) -> SyncStateOut | None:
        if row is None:
            return None
        return cls(
            desired_hash=row.desired_hash,
            applied_hash=row.applied_hash,
            in_sync=row.desired_hash is not None and row.desired_hash == row.applied_hash,
            peers=row.peers_desired,
            last_sync_at=row.last_sync_at,
            last_result=row.last_result,
            last_stage=row.last_stage,
            last_exit_status=row.last_exit_status,
            last_output=row.last_output,
            last_duration_ms=row.last_duration_ms,
            reconfigure_count=row.reconfigure_count,
            drained=row.drained,
            drained_at=row.drained_at,
            drained_by=row.drained_by,
        )


class RouteServerOut(BaseModel):
    name: str
    enabled: bool
    transport: str
    host: str
    asn: int
    ipv4: str
    ipv6: str
    network: str
    pair_order: int
    drained: bool = Field(
        False, description="Exports carry GRACEFUL_SHUTDOWN (maintenance, RFC 8326)"
    )
    sync: SyncStateOut | None
    sessions_ok: bool | None = None
    sessions_error: str | None = None
    sessions: list[SessionOut] = Field(default_factory=list)


class MemberRouteServerOut(BaseModel):
    name: str
    asn: int
    ipv4: str
    ipv6: str
    bgp_port: int = Field(description="The port the member's router dials (179 but in labs)")
    applied: bool
    max_prefix_ipv4: int | None
    max_prefix_ipv6: int | None
    max_prefix_source: str | None
    receive_limit_ipv4: int | None = None
    receive_limit_ipv6: int | None = None
    bgp_password_set: bool = Field(False, description="A session password is set (never shown)")
    sessions_ok: bool | None
    sessions: list[SessionOut]


class MaxPrefixBody(BaseModel):
    ipv4: Annotated[
        int | None, Field(ge=1, le=10_000_000, description="None: no override"), AsciiDigits
    ] = None
    ipv6: Annotated[int | None, Field(ge=1, le=10_000_000), AsciiDigits] = None


class ReceiveLimitBody(BaseModel):
    """The admin's receive-limit override (routes received before filtering); None clears
    it. The receive limit never goes below the import limit."""

    ipv4: Annotated[int | None, Field(ge=1, le=10_000_000), AsciiDigits] = None
    ipv6: Annotated[int | None, Field(ge=1, le=10_000_000), AsciiDigits] = None


class BgpPasswordBody(BaseModel):
    """The member's BGP session password (TCP MD5). None removes it. Never returned."""

    password: Annotated[
        SecretStr | None,
        Field(description="8-80 characters of A-Za-z0-9!#%*+,-./:=@^_~; null: no password"),
    ] = None


class BgpPasswordOut(BaseModel):
    bgp_password_set: bool
