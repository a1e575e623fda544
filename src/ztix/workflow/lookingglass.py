"""The member looking glass (MANRS Action 5): what a route server did with a member's routes.

A member sees the sessions of its own requests only (admins: every request); the session
must be one ZT-IX renders for the request, on a route server of the request's network.
Answers are read with allow-listed `birdc show route` commands over the server's transport
and cached ``routeservers.looking_glass_cache_seconds``; each query that reaches a route
server (a cache miss) is counted against the user's throttle *before* it is sent. No
database session is open while birdc answers.
"""

from __future__ import annotations

import ipaddress
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ztix.config import RouteServerConfig, Settings
from ztix.db.models import User
from ztix.errors import AppError
from ztix.routeserver.connect import transport_for
from ztix.routeserver.lookingglass import (
    Kind,
    Route,
    decode,
    lookup_commands,
    not_found,
    parse_routes,
    routes_command,
)
from ztix.routeserver.transport import BirdcReply, RouteServerError, RouteServerTransport
from ztix.workflow import requests as service
from ztix.workflow.routeserver_desired import member_protocols

Throttle = Callable[[], None]  # raises AppError("rate_limited") past the user's limit


@dataclass(frozen=True)
class Target:
    server: RouteServerConfig
    protocol: str


@dataclass(frozen=True)
class RoutePage:
    server: str
    protocol: str
    kind: Kind
    total: int
    offset: int
    routes: list[Route]
    read_at: float  # time.time() of the birdc answer


_cache: dict[tuple[str, tuple[str, ...]], tuple[float, float, list[Route]]] = {}
_lock = threading.Lock()


def forget() -> None:
    with _lock:
        _cache.clear()


def target(
    db: Session, settings: Settings, user: User, request_id: uuid.UUID, server: str, protocol: str
) -> Target:
    """The session, checked: the user may see the request, the server serves its network
    and the protocol is one of the request's own sessions. The caller ends the transaction."""
    request = service.visible_request(db, user, request_id)
    servers = {rs.name: rs for rs in settings.route_servers_of(request.network.zt_network_id)}
    if server not in servers:
        raise AppError("route_server_not_found", f"no route server {server!r} for this request")
    if protocol not in member_protocols(request):
        raise AppError("not_found", f"{protocol!r} is not a session of this request")
    return Target(servers[server], protocol)


def _read(
    settings: Settings,
    rs: RouteServerConfig,
    command: tuple[str, ...],
    throttle: Throttle,
    transports: Callable[[RouteServerConfig], RouteServerTransport],
) -> tuple[float, list[Route]]:
    key = (rs.name, command)
    max_age = settings.routeservers.looking_glass_cache_seconds
    with _lock:
        cached = _cache.get(key)
    if cached is not None and time.monotonic() - cached[0] <= max_age:
        return cached[1], cached[2]
    throttle()  # reserved before the route server is asked
    try:
        transport = transports(rs)
        try:
            reply: BirdcReply = transport.birdc(*command)
        finally:
            transport.close()
    except RouteServerError as exc:
        raise AppError("route_server_unavailable", f"{rs.name}: {exc.message}") from exc
    if reply.error and not not_found(reply):
        raise AppError(
            "route_server_unavailable", f"{rs.name} did not answer: {reply.message[-300:]}"
        )
    routes = parse_routes(reply)
    for route in routes:
        decode(route, rs.asn)
    found = (time.monotonic(), time.time(), routes)
    with _lock:
        _cache[key] = found
    return found[1], routes


def routes(
    settings: Settings,
    where: Target,
    kind: Kind,
    offset: int,
    limit: int,
    throttle: Throttle,
    transports: Callable[[RouteServerConfig], RouteServerTransport] = transport_for,
) -> RoutePage:
    """One page of the session's accepted, filtered or exported routes (sorted by prefix)."""
    read_at, found = _read(
        settings, where.server, routes_command(where.protocol, kind), throttle, transports
    )
    ordered = sorted(found, key=lambda r: (_sort_key(r.prefix), not r.primary))
    return RoutePage(
        where.server.name,
        where.protocol,
        kind,
        len(ordered),
        offset,
        ordered[offset : offset + limit],
        read_at,
    )


def lookup(
    settings: Settings,
    where: Target,
    prefix: str,
    throttle: Throttle,
    transports: Callable[[RouteServerConfig], RouteServerTransport] = transport_for,
) -> dict[Kind, list[Route]]:
    """One prefix (exact match): as the member sent it (accepted or filtered, with the
    reasons) and as the route server sends it to the member."""
    try:
        network = ipaddress.ip_network(prefix.strip(), strict=True)
    except ValueError:
        raise AppError(
            "invalid_prefix", f"{prefix!r} is not an IP prefix like 192.0.2.0/24"
        ) from None
    if network.version != int(where.protocol[-1]):
        raise AppError("invalid_prefix", f"{network} is not an IPv{where.protocol[-1]} prefix")
    commands = lookup_commands(where.protocol, network)
    return {
        kind: _read(settings, where.server, command, throttle, transports)[1]
        for kind, command in commands.items()
    }


def _sort_key(prefix: str) -> tuple[int, int, int]:
    try:
        net = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return (9, 0, 0)
    return (net.version, int(net.network_address), net.prefixlen)
