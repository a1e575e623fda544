"""The IX-F Member Export: the IX, its peering LANs and its active members, in the IX-F
JSON schema 1.0 (euro-ix/json-schemas, kept in ``api/ixf/``).

The export is public by IX-F convention, so it is built only from what an IX publishes
anyway: ASNs, peering-LAN addresses, route-server peering and limits, and PeeringDB's public
network name and AS-SET. Nothing about the people behind a request (usernames, e-mail
addresses, notes) is ever read here.

:func:`gather` reads the database; :func:`render` is a pure function of what it gathered.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ztix.config import IxfConfig, Settings
from ztix.db.base import utcnow
from ztix.db.models import AuditEvent, IxNetwork, JoinRequest, PeeringDBNetwork, RouteServerPeer
from ztix.domain.requests import RequestStatus
from ztix.peeringdb.cache import max_prefix
from ztix.workflow.routeserver_desired import enabled_servers, network_row

SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class PeeringLan:
    """An IX network as an IX-F VLAN; its database ID is persistent, so it is the VLAN ID."""

    vlan_id: int
    name: str
    ipv4_prefix: ipaddress.IPv4Network
    ipv6_prefix: ipaddress.IPv6Network


@dataclass(frozen=True)
class Connection:
    """One active member router on one peering LAN."""

    asn: int
    vlan_id: int
    ipv4: str | None
    ipv6: str | None
    routeserver: bool
    max_prefix_ipv4: int
    max_prefix_ipv6: int
    connected_since: datetime | None


@dataclass(frozen=True)
class MemberInfo:
    """PeeringDB's public data about an ASN, when cached."""

    name: str
    as_macro: str


@dataclass(frozen=True)
class Export:
    lans: tuple[PeeringLan, ...]
    connections: tuple[Connection, ...]
    members: dict[int, MemberInfo]


def gather(db: Session, settings: Settings) -> Export:
    """Read the active networks and members; no writes, no calls outside the database."""
    networks = list(db.scalars(select(IxNetwork).where(IxNetwork.is_active).order_by(IxNetwork.id)))
    lans = tuple(
        PeeringLan(
            vlan_id=n.id,
            name=n.name,
            ipv4_prefix=ipaddress.IPv4Network(n.ipv4_prefix),
            ipv6_prefix=ipaddress.IPv6Network(n.ipv6_prefix),
        )
        for n in networks
    )
    requests = list(
        db.scalars(
            select(JoinRequest)
            .where(
                JoinRequest.status == RequestStatus.ACTIVE.value,
                JoinRequest.network_id.in_([n.id for n in networks]),
            )
            .order_by(JoinRequest.asn, JoinRequest.network_id, JoinRequest.node_id)
        )
    )
    ids = [r.id for r in requests]
    asns = sorted({r.asn for r in requests})
    records = {
        row.asn: row
        for row in db.scalars(select(PeeringDBNetwork).where(PeeringDBNetwork.asn.in_(asns)))
    }
    # The limits the route servers were given; a member not (yet) on any server gets the
    # same rule's answer (override → PeeringDB hint → default).
    applied: dict[Any, tuple[int, int]] = {}
    for peer in db.scalars(
        select(RouteServerPeer)
        .where(RouteServerPeer.request_id.in_(ids))
        .order_by(RouteServerPeer.server)
    ):
        applied.setdefault(peer.request_id, (peer.max_prefix_ipv4, peer.max_prefix_ipv6))
    # When each connection last became active (the audit trail is the record of it).
    since: dict[Any, datetime] = {
        request_id: at
        for request_id, at in db.execute(
            select(AuditEvent.request_id, func.max(AuditEvent.occurred_at))
            .where(
                AuditEvent.request_id.in_(ids),
                AuditEvent.to_status == RequestStatus.ACTIVE.value,
            )
            .group_by(AuditEvent.request_id)
        )
    }
    served = _route_served(db, settings)
    connections = []
    for request in requests:
        limits = applied.get(request.id)
        if limits is None:
            computed = max_prefix(
                records.get(request.asn),
                settings.routeservers.policy,
                override_ipv4=request.max_prefix_ipv4_override,
                override_ipv6=request.max_prefix_ipv6_override,
            )
            limits = (computed.ipv4, computed.ipv6)
        server_asns = served.get(request.network_id)
        connections.append(
            Connection(
                asn=request.asn,
                vlan_id=request.network_id,
                ipv4=request.address(4),
                ipv6=request.address(6),
                # A route server does not take its own ASN as a client (routeserver_desired).
                routeserver=bool(server_asns) and server_asns != {request.asn},
                max_prefix_ipv4=limits[0],
                max_prefix_ipv6=limits[1],
                connected_since=since.get(request.id),
            )
        )
    members = {
        asn: MemberInfo(name=row.name, as_macro=row.irr_as_set)
        for asn, row in records.items()
        if row.found
    }
    return Export(lans=lans, connections=tuple(connections), members=members)


def _route_served(db: Session, settings: Settings) -> dict[int, set[int]]:
    """Network database ID → the ASNs of the enabled route servers serving it."""
    served: dict[int, set[int]] = defaultdict(set)
    for rs in enabled_servers(settings):
        row = network_row(db, settings, rs)
        if row is not None:
            served[row.id].add(rs.asn)
    return served


def render(export: Export, ixf: IxfConfig, now: datetime) -> dict[str, Any]:
    """The IX-F 1.0 document. Members are ordered by ASN, their connections by peering LAN
    and address, so the same data always gives the same bytes (cache- and diff-friendly)."""
    ixp: dict[str, Any] = {
        "ixp_id": ixf.ixp_id,
        "ixf_id": ixf.ixf_id,
        "shortname": ixf.shortname,
        "name": ixf.name,
    }
    if ixf.url:
        ixp["url"] = ixf.url
    if ixf.country:
        ixp["country"] = ixf.country
    if ixf.peeringdb_id is not None:
        ixp["peeringdb_id"] = ixf.peeringdb_id
    ixp["vlan"] = [
        {
            "id": lan.vlan_id,
            "name": lan.name,
            "ipv4": {
                "prefix": str(lan.ipv4_prefix.network_address),
                "mask_length": lan.ipv4_prefix.prefixlen,
            },
            "ipv6": {
                "prefix": str(lan.ipv6_prefix.network_address),
                "mask_length": lan.ipv6_prefix.prefixlen,
            },
        }
        for lan in export.lans
    ]
    by_asn: dict[int, list[Connection]] = defaultdict(list)
    for conn in export.connections:
        by_asn[conn.asn].append(conn)
    member_list = []
    for asn in sorted(by_asn):
        conns = sorted(by_asn[asn], key=lambda c: (c.vlan_id, c.ipv4 or "", c.ipv6 or ""))
        info = export.members.get(asn)
        member: dict[str, Any] = {"asnum": asn, "member_type": "peering"}
        if info is not None and info.name:
            member["name"] = info.name
        started = [c.connected_since for c in conns if c.connected_since is not None]
        if started:
            member["member_since"] = _timestamp(min(started))
        member["connection_list"] = [
            _connection(conn, ixf.ixp_id, info.as_macro if info else "") for conn in conns
        ]
        member_list.append(member)
    return {
        "version": SCHEMA_VERSION,
        "timestamp": _timestamp(now),
        "ixp_list": [ixp],
        "member_list": member_list,
    }


def _connection(conn: Connection, ixp_id: int, as_macro: str) -> dict[str, Any]:
    vlan: dict[str, Any] = {"vlan_id": conn.vlan_id}
    for family, address, limit in (
        ("ipv4", conn.ipv4, conn.max_prefix_ipv4),
        ("ipv6", conn.ipv6, conn.max_prefix_ipv6),
    ):
        if address is None:
            continue
        details: dict[str, Any] = {
            "address": address,
            "routeserver": conn.routeserver,
            "max_prefix": limit,
        }
        if as_macro:
            details["as_macro"] = as_macro
        vlan[family] = details
    entry: dict[str, Any] = {"ixp_id": ixp_id, "state": "active"}
    if conn.connected_since is not None:
        entry["connected_since"] = _timestamp(conn.connected_since)
    entry["vlan_list"] = [vlan]
    return entry


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def member_export(db: Session, settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Gather and render in one go (the route's and the CLI's entry point)."""
    return render(gather(db, settings), settings.ixf, now or utcnow())
