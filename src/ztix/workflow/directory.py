"""The member directory: who is connected to the IX, built from the IX-F export's own data
(:func:`ztix.workflow.ixf.gather`: the same members, names, addresses and dates) plus the
state of each member's BGP sessions on the route servers.

:func:`gather` reads the database; :func:`sessions` asks the route servers (cached, after
the transaction ended); :func:`build` is a pure function of both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ztix.config import RouteServerConfig, Settings
from ztix.db.models import IxNetwork, JoinRequest
from ztix.domain.requests import RequestStatus
from ztix.routeserver.status import ServerSessions, read_sessions
from ztix.workflow import ixf
from ztix.workflow.routeserver_desired import enabled_servers, member_protocols


@dataclass(frozen=True)
class Gathered:
    export: ixf.Export
    # (asn, network id, IPv4, IPv6) → the BGP protocol names of that connection's sessions
    protocols: dict[tuple[int, int, str | None, str | None], set[str]]
    network_ids: dict[int, str]  # network database ID → ZeroTier network ID


@dataclass(frozen=True)
class DirectorySession:
    server: str
    family: str
    state: str  # "up", "down", … as BIRD says; "unknown" when the server did not answer
    info: str


@dataclass(frozen=True)
class Connection:
    network_name: str
    zt_network_id: str
    ipv4: str | None
    ipv6: str | None
    route_server: bool
    connected_since: datetime | None
    sessions: tuple[DirectorySession, ...]


@dataclass(frozen=True)
class Member:
    asn: int
    name: str | None
    member_since: datetime | None
    connections: tuple[Connection, ...]


def gather(db: Session, settings: Settings) -> Gathered:
    export = ixf.gather(db, settings)
    active = db.scalars(select(JoinRequest).where(JoinRequest.status == RequestStatus.ACTIVE.value))
    protocols = {
        (r.asn, r.network_id, r.address(4), r.address(6)): member_protocols(r) for r in active
    }
    ids = {n.id: n.zt_network_id for n in db.scalars(select(IxNetwork))}
    return Gathered(export=export, protocols=protocols, network_ids=ids)


def sessions(
    settings: Settings,
    read: Callable[..., ServerSessions] = read_sessions,
) -> list[tuple[RouteServerConfig, ServerSessions]]:
    """Every enabled route server's sessions (cached ``routeservers.status_cache_seconds``);
    call it with no transaction open."""
    max_age = settings.routeservers.status_cache_seconds
    return [(rs, read(rs, max_age=max_age)) for rs in enabled_servers(settings)]


def build(
    gathered: Gathered, servers: list[tuple[RouteServerConfig, ServerSessions]]
) -> list[Member]:
    export = gathered.export
    lans = {lan.vlan_id: lan.name for lan in export.lans}
    by_asn: dict[int, list[ixf.Connection]] = defaultdict(list)
    for conn in export.connections:
        by_asn[conn.asn].append(conn)
    members = []
    for asn in sorted(by_asn):
        conns = sorted(by_asn[asn], key=lambda c: (c.vlan_id, c.ipv4 or "", c.ipv6 or ""))
        info = export.members.get(asn)
        started = [c.connected_since for c in conns if c.connected_since is not None]
        members.append(
            Member(
                asn=asn,
                name=info.name if info is not None and info.name else None,
                member_since=min(started) if started else None,
                connections=tuple(_connection(gathered, c, lans, servers) for c in conns),
            )
        )
    return members


def _connection(
    gathered: Gathered,
    conn: ixf.Connection,
    lans: dict[int, str],
    servers: list[tuple[RouteServerConfig, ServerSessions]],
) -> Connection:
    names = gathered.protocols.get((conn.asn, conn.vlan_id, conn.ipv4, conn.ipv6), set())
    found = []
    for rs, read in servers:
        for name in sorted(names):
            state = read.protocols.get(name) if read.ok else None
            if read.ok and state is None:
                continue  # this server does not serve the connection's network
            found.append(
                DirectorySession(
                    server=rs.name,
                    family="ipv6" if name.endswith("_v6") else "ipv4",
                    state=state.state if state else "unknown",
                    info=state.info if state else "the route server did not answer",
                )
            )
    return Connection(
        network_name=lans.get(conn.vlan_id, ""),
        zt_network_id=gathered.network_ids.get(conn.vlan_id, ""),
        ipv4=conn.ipv4,
        ipv6=conn.ipv6,
        route_server=conn.routeserver,
        connected_since=conn.connected_since,
        sessions=tuple(found),
    )
