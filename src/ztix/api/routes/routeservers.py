"""Route servers: their sync state and BGP sessions (admins: all; members: their own)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

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
from ztix.api.schemas.routeservers import (
    MaxPrefixBody,
    MemberRouteServerOut,
    RouteServerOut,
    SessionOut,
    SyncStateOut,
)
from ztix.config import RouteServerConfig, Settings
from ztix.db.models import RouteServerPeer, RouteServerState
from ztix.errors import AppError
from ztix.routeserver.status import read_sessions
from ztix.workflow import audit
from ztix.workflow import requests as service
from ztix.workflow.dispatch import route_servers_after_commit
from ztix.workflow.routeserver_desired import member_protocols

router = APIRouter(
    route_class=DatabaseRoute, prefix="/api/v1", tags=["route servers"], dependencies=[Csrf]
)

AUTH = ("not_authenticated", "session_expired", "account_disabled")


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
    states = {rs.name: SyncStateOut.of(db.get(RouteServerState, rs.name)) for rs in servers}
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
    state = SyncStateOut.of(db.get(RouteServerState, rs.name))
    db.rollback()  # no transaction (SQLite: no write lock) held while birdc answers
    return _server_out(rs, state, settings, sessions=True)


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
                bgp_port=rs.bgp_port,
                **peer,
                sessions_ok=read.ok if read else None,
                sessions=[SessionOut.of(p) for n, p in sorted(read.protocols.items()) if n in mine]
                if read
                else [],
            )
        )
    return result


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
