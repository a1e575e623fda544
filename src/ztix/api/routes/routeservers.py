"""Route servers: their sync state and BGP sessions (admins: all; members: their own)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ztix.api.deps import (
    AdminUser,
    Csrf,
    CurrentActor,
    CurrentCaller,
    DatabaseRoute,
    DbSession,
    SettingsDep,
)
from ztix.api.problems import responses
from ztix.api.schemas.routeservers import (
    BgpPasswordBody,
    BgpPasswordOut,
    MaxPrefixBody,
    MemberRouteServerOut,
    ReceiveLimitBody,
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
from ztix.workflow.audit import Actor
from ztix.workflow.bgp_passwords import has_password, set_password
from ztix.workflow.dispatch import route_servers_after_commit
from ztix.workflow.routeserver_desired import member_protocols, session_requests
from ztix.workflow.routeserver_drain import set_drained

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
    requests: dict[str, uuid.UUID] | None = None,
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
        drained=bool(sync and sync.drained),
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
        for session in out.sessions:
            session.request_id = (requests or {}).get(session.protocol)
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
    members = {rs.name: session_requests(db, rs.name) if sessions else {} for rs in servers}
    db.rollback()  # no transaction (SQLite: no write lock) held while birdc answers
    return [
        _server_out(rs, states[rs.name], settings, sessions=sessions, requests=members[rs.name])
        for rs in servers
    ]


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
    members = session_requests(db, rs.name)
    db.rollback()  # no transaction (SQLite: no write lock) held while birdc answers
    return _server_out(rs, state, settings, sessions=True, requests=members)


def _drain(
    name: str, drained: bool, db: DbSession, actor: Actor, settings: Settings
) -> RouteServerOut:
    set_drained(db, settings, actor, name, drained)
    db.commit()
    rs = next(r for r in settings.routeservers.servers if r.name == name)
    state = SyncStateOut.of(db.get(RouteServerState, name))
    db.rollback()
    return _server_out(rs, state, settings, sessions=False)


DRAIN_ERRORS = (*AUTH, "admin_required", "csrf_failed", "route_server_not_found")


@router.post(
    "/admin/route-servers/{name}/drain",
    response_model=RouteServerOut,
    responses=responses(*DRAIN_ERRORS, "route_server_disabled", "route_server_pair_drained"),
)
def drain_route_server(
    name: str, db: DbSession, _admin: AdminUser, actor: CurrentActor, settings: SettingsDep
) -> RouteServerOut:
    """Drain a route server for maintenance: every route it exports gets GRACEFUL_SHUTDOWN
    (65535:0), applied by a normal sync. Refused while another server of the same network
    is drained. Draining a drained server changes nothing."""
    return _drain(name, True, db, actor, settings)


@router.post(
    "/admin/route-servers/{name}/undrain",
    response_model=RouteServerOut,
    responses=responses(*DRAIN_ERRORS, "route_server_disabled"),
)
def undrain_route_server(
    name: str, db: DbSession, _admin: AdminUser, actor: CurrentActor, settings: SettingsDep
) -> RouteServerOut:
    """Bring a drained route server back: its exports lose GRACEFUL_SHUTDOWN."""
    return _drain(name, False, db, actor, settings)


def _peer_limits(peer: RouteServerPeer | None) -> dict[str, Any]:
    return {
        "applied": bool(peer and peer.applied),
        "max_prefix_ipv4": peer.max_prefix_ipv4 if peer else None,
        "max_prefix_ipv6": peer.max_prefix_ipv6 if peer else None,
        "max_prefix_source": peer.max_prefix_source if peer else None,
        "receive_limit_ipv4": peer.receive_limit_ipv4 if peer else None,
        "receive_limit_ipv6": peer.receive_limit_ipv6 if peer else None,
    }


@router.get(
    "/requests/{request_id}/route-servers",
    response_model=list[MemberRouteServerOut],
    responses=responses(*AUTH, "request_not_found"),
)
def member_route_servers(
    request_id: uuid.UUID, db: DbSession, user: CurrentCaller, settings: SettingsDep
) -> list[MemberRouteServerOut]:
    """The route servers of the request's IX network, with this member's sessions on each
    (state, since, routes imported/filtered/exported) once it is active."""
    request = service.visible_request(db, user, request_id)
    nwid = request.network.zt_network_id
    mine = member_protocols(request)
    live = request.status == "active"
    password_set = has_password(request)
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
                bgp_password_set=password_set,
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


@router.put(
    "/admin/requests/{request_id}/receive-limit",
    response_model=ReceiveLimitBody,
    responses=responses(*AUTH, "admin_required", "csrf_failed", "request_not_found"),
)
def set_receive_limit(
    request_id: uuid.UUID,
    body: ReceiveLimitBody,
    db: DbSession,
    _admin: AdminUser,
    actor: CurrentActor,
) -> ReceiveLimitBody:
    """Override the route servers' receive limits (routes received before filtering) for
    this member; null clears an override. The route servers are resynced."""
    request = service.lock_request(db, request_id)
    before = {
        "ipv4": request.receive_limit_ipv4_override,
        "ipv6": request.receive_limit_ipv6_override,
    }
    request.receive_limit_ipv4_override = body.ipv4
    request.receive_limit_ipv6_override = body.ipv6
    audit.record(
        db,
        actor,
        "request.receive_limit_set",
        target_type="request",
        target_id=request.id,
        request_id=request.id,
        details={"before": before, "after": body.model_dump()},
    )
    route_servers_after_commit(db)
    db.commit()
    return body


@router.put(
    "/requests/{request_id}/bgp-password",
    response_model=BgpPasswordOut,
    responses=responses(
        *AUTH,
        "csrf_failed",
        "request_not_found",
        "invalid_bgp_password",
        "bgp_password_unavailable",
    ),
)
def set_bgp_password(
    request_id: uuid.UUID,
    body: BgpPasswordBody,
    db: DbSession,
    user: CurrentCaller,
    actor: CurrentActor,
    settings: SettingsDep,
) -> BgpPasswordOut:
    """Set the BGP session password (TCP MD5) of the member's sessions on every route
    server, or remove it with null. Stored encrypted, never returned; the route servers are
    resynced, and the member's router must use the same password."""
    service.visible_request(db, user, request_id)
    request = service.lock_request(db, request_id)
    password = body.password.get_secret_value() if body.password is not None else None
    set_password(db, settings, actor, request, password)
    db.commit()
    return BgpPasswordOut(bgp_password_set=has_password(request))
