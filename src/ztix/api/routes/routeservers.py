"""Route servers: their sync state and BGP sessions (admins: all; members: their own)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ztix.api.deps import (
    AdminUser,
    Csrf,
    CurrentActor,
    CurrentUser,
    DatabaseRoute,
    DbSession,
    SettingsDep,
)
from ztix.api.problems import responses
from ztix.api.schemas import AsciiDigits
from ztix.config import RouteServerConfig, Settings
from ztix.db.models import RouteServerPeer, RouteServerState
from ztix.errors import AppError
from ztix.routeserver.apply import ProtocolState
from ztix.routeserver.status import read_sessions
from ztix.workflow import audit
from ztix.workflow import requests as service
from ztix.workflow.dispatch import route_servers_after_commit
from ztix.workflow.routeserver_desired import member_protocols

router = APIRouter(
    route_class=DatabaseRoute, prefix="/api/v1", tags=["route servers"], dependencies=[Csrf]
)

AUTH = ("not_authenticated", "session_expired", "account_disabled")


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
    sync: SyncStateOut | None
    sessions_ok: bool | None = None
    sessions_error: str | None = None
    sessions: list[SessionOut] = Field(default_factory=list)


def _sync_state(row: RouteServerState | None) -> SyncStateOut | None:
    if row is None:
        return None
    return SyncStateOut(
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
    )


def _server_out(
    rs: RouteServerConfig,
    sync: SyncStateOut | None,
    settings: Settings,
    *,
    sessions: bool,
    only: set[str] | None = None,
) -> RouteServerOut:
    out = RouteServerOut(
        name=rs.name,
        enabled=rs.enabled,
        transport=rs.transport,
        host=rs.host or "localhost",
        asn=rs.asn,
        ipv4=str(rs.ipv4),
        ipv6=str(rs.ipv6),
        network=rs.network,
        pair_order=rs.pair_order,
        sync=sync,
    )
    if sessions and rs.enabled:
        read = read_sessions(rs, max_age=settings.routeservers.status_cache_seconds)
        out.sessions_ok = read.ok
        out.sessions_error = read.error
        out.sessions = [
            SessionOut.of(p)
            for name, p in sorted(read.protocols.items())
            if p.proto.upper() == "BGP" and (only is None or name in only)
        ]
    return out


@router.get(
    "/admin/route-servers",
    response_model=list[RouteServerOut],
    responses=responses(*AUTH, "admin_required"),
)
def list_route_servers(
    db: DbSession,
    _admin: AdminUser,
    settings: SettingsDep,
    sessions: Annotated[bool, Query(description="Also read BGP sessions (cached)")] = False,
) -> list[RouteServerOut]:
    """Every configured route server with its last sync (when, result, stage on failure)."""
    servers = sorted(settings.routeservers.servers, key=lambda r: (r.pair_order, r.name))
    states = {rs.name: _sync_state(db.get(RouteServerState, rs.name)) for rs in servers}
    db.rollback()  # no transaction (SQLite: no write lock) held while birdc answers
    return [_server_out(rs, states[rs.name], settings, sessions=sessions) for rs in servers]


@router.get(
    "/admin/route-servers/{name}",
    response_model=RouteServerOut,
    responses=responses(*AUTH, "admin_required", "route_server_not_found"),
)
def get_route_server(
    name: str, db: DbSession, _admin: AdminUser, settings: SettingsDep
) -> RouteServerOut:
    """One route server with every BGP session (read with birdc, cached briefly)."""
    rs = next((r for r in settings.routeservers.servers if r.name == name), None)
    if rs is None:
        raise AppError("route_server_not_found", f"no route server {name!r}")
    state = _sync_state(db.get(RouteServerState, rs.name))
    db.rollback()  # no transaction (SQLite: no write lock) held while birdc answers
    return _server_out(rs, state, settings, sessions=True)


class MemberRouteServerOut(BaseModel):
    name: str
    asn: int
    ipv4: str
    ipv6: str
    applied: bool
    max_prefix_ipv4: int | None
    max_prefix_ipv6: int | None
    max_prefix_source: str | None
    sessions_ok: bool | None
    sessions: list[SessionOut]


def _peer_limits(peer: RouteServerPeer | None) -> dict[str, Any]:
    return {
        "applied": bool(peer and peer.applied),
        "max_prefix_ipv4": peer.max_prefix_ipv4 if peer else None,
        "max_prefix_ipv6": peer.max_prefix_ipv6 if peer else None,
        "max_prefix_source": peer.max_prefix_source if peer else None,
    }


@router.get(
    "/requests/{request_id}/route-servers",
    response_model=list[MemberRouteServerOut],
    responses=responses(*AUTH, "request_not_found"),
)
def member_route_servers(
    request_id: uuid.UUID, db: DbSession, user: CurrentUser, settings: SettingsDep
) -> list[MemberRouteServerOut]:
    """The route servers of the request's IX network, with this member's sessions on each
    (state, since, routes imported/filtered/exported) once it is active."""
    request = service.visible_request(db, user, request_id)
    nwid = request.network.zt_network_id
    mine = member_protocols(request)
    live = request.status == "active"
    servers = [
        (rs, _peer_limits(db.get(RouteServerPeer, (rs.name, request.id))))
        for rs in settings.route_servers_of(nwid)
    ]
    db.rollback()  # no transaction (SQLite: no write lock) held while birdc answers
    result = []
    for rs, peer in servers:
        read = (
            read_sessions(rs, max_age=settings.routeservers.status_cache_seconds) if live else None
        )
        result.append(
            MemberRouteServerOut(
                name=rs.name,
                asn=rs.asn,
                ipv4=str(rs.ipv4),
                ipv6=str(rs.ipv6),
                **peer,
                sessions_ok=read.ok if read else None,
                sessions=[SessionOut.of(p) for n, p in sorted(read.protocols.items()) if n in mine]
                if read
                else [],
            )
        )
    return result


class MaxPrefixBody(BaseModel):
    ipv4: Annotated[
        int | None, Field(ge=1, le=10_000_000, description="None: no override"), AsciiDigits
    ] = None
    ipv6: Annotated[int | None, Field(ge=1, le=10_000_000), AsciiDigits] = None


@router.put(
    "/admin/requests/{request_id}/max-prefix",
    response_model=MaxPrefixBody,
    responses=responses(*AUTH, "admin_required", "csrf_failed", "request_not_found"),
)
def set_max_prefix(
    request_id: uuid.UUID,
    body: MaxPrefixBody,
    db: DbSession,
    _admin: AdminUser,
    actor: CurrentActor,
) -> MaxPrefixBody:
    """Override the route servers' import limits for this member (null clears an override).
    The route servers are resynced."""
    request = service.lock_request(db, request_id)
    before = {"ipv4": request.max_prefix_ipv4_override, "ipv6": request.max_prefix_ipv6_override}
    request.max_prefix_ipv4_override = body.ipv4
    request.max_prefix_ipv6_override = body.ipv6
    audit.record(
        db,
        actor,
        "request.max_prefix_set",
        target_type="request",
        target_id=request.id,
        request_id=request.id,
        details={"before": before, "after": body.model_dump()},
    )
    route_servers_after_commit(db)
    db.commit()
    return body
