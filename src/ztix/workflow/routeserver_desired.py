"""What each route server should run, built from the database and the configuration.

``build`` reads the IX network's route-server clients (provisioning-and-authorized and
active requests) and their PeeringDB records, and returns the ``DesiredConfig`` the
route-server adapter renders; ``record_peers`` keeps the per-peer rows (limits, their
source, whether the server runs the peer) in step with it.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ztix.config import RouteServerConfig, Settings
from ztix.db.base import utcnow
from ztix.db.models import IxNetwork, JoinRequest, PeeringDBNetwork, RouteServerPeer
from ztix.domain.requests import RequestStatus
from ztix.peeringdb.cache import MaxPrefix, max_prefix, never_via_route_servers
from ztix.routeserver.model import DesiredConfig, Peer, Policy, RouteServer, RpkiValidator
from ztix.routeserver.render import peer_protocols

# A member is a route-server client once it is authorized on ZeroTier (provisioning,
# waiting for the route servers) and while it is active. Leaving removes it.
CLIENT_STATUSES = (RequestStatus.PROVISIONING.value, RequestStatus.ACTIVE.value)


def enabled_servers(settings: Settings) -> list[RouteServerConfig]:
    """Enabled route servers in the order they are reconfigured (pair order, then name)."""
    servers = [rs for rs in settings.routeservers.servers if rs.enabled]
    return sorted(servers, key=lambda rs: (rs.pair_order, rs.name))


def network_row(db: Session, settings: Settings, rs: RouteServerConfig) -> IxNetwork | None:
    declared = settings.find_network(rs.network)
    if declared is None:
        return None
    if declared.zt_network_id is not None:
        return db.scalar(select(IxNetwork).where(IxNetwork.zt_network_id == declared.zt_network_id))
    rows = db.scalars(select(IxNetwork).where(IxNetwork.is_active)).all()
    return next((r for r in rows if r.zt_network_id[10:] == declared.suffix), None)


@dataclass(frozen=True)
class PeerLimits:
    request_id: str
    asn: int
    limits: MaxPrefix


def client_requests(db: Session, network_id: int) -> list[JoinRequest]:
    return list(
        db.scalars(
            select(JoinRequest)
            .where(
                JoinRequest.network_id == network_id,
                JoinRequest.status.in_(CLIENT_STATUSES),
                JoinRequest.zt_authorized.is_(True),
            )
            .order_by(JoinRequest.asn, JoinRequest.node_id)
        )
    )


def build(
    db: Session, settings: Settings, rs: RouteServerConfig, *, peeringdb_failed: bool = False
) -> tuple[DesiredConfig, list[PeerLimits]]:
    conf = settings.routeservers
    declared = settings.find_network(rs.network)
    assert declared is not None  # checked when the settings were loaded
    server = RouteServer(
        name=rs.name,
        asn=rs.asn,
        router_id=rs.router_id,
        ipv4=rs.ipv4,
        ipv6=rs.ipv6,
        ipv4_prefix=declared.ipv4_prefix,
        ipv6_prefix=declared.ipv6_prefix,
        config_dir=str(rs.config_dir),
        bgp_port=rs.bgp_port,
        validators=tuple(
            RpkiValidator(
                name=v.name,
                address=_host(v.host),
                port=v.port,
                refresh_seconds=v.refresh_seconds,
                retry_seconds=v.retry_seconds,
                expire_seconds=v.expire_seconds,
            )
            for v in conf.rpki_validators
        ),
        policy=Policy(
            ipv4_min_length=conf.policy.ipv4_min_length,
            ipv4_max_length=conf.policy.ipv4_max_length,
            ipv6_min_length=conf.policy.ipv6_min_length,
            ipv6_max_length=conf.policy.ipv6_max_length,
            max_as_path_length=conf.policy.max_as_path_length,
            import_limit_action=conf.policy.import_limit_action,
            rpki_invalid=conf.policy.rpki_invalid,
        ),
        never_via_route_servers=tuple(never_via_route_servers(db)),
    )
    network = network_row(db, settings, rs)
    requests = client_requests(db, network.id) if network is not None else []
    records = {
        r.asn: r
        for r in db.scalars(
            select(PeeringDBNetwork).where(PeeringDBNetwork.asn.in_({q.asn for q in requests}))
        )
    }
    peers: list[Peer] = []
    limits: list[PeerLimits] = []
    for request in requests:
        if request.asn == rs.asn:
            # A member cannot peer with a route server as the server's own ASN; BGP would
            # treat the session as internal. Left out rather than breaking everyone's config.
            continue
        lim = max_prefix(
            records.get(request.asn),
            conf.policy,
            override_ipv4=request.max_prefix_ipv4_override,
            override_ipv6=request.max_prefix_ipv6_override,
            peeringdb_failed=peeringdb_failed,
        )
        peers.append(peer_of(request, lim))
        limits.append(PeerLimits(str(request.id), request.asn, lim))
    return DesiredConfig(server=server, peers=tuple(peers)), limits


def peer_of(request: JoinRequest, limits: MaxPrefix | None = None) -> Peer:
    """The member's router as a route-server client (limits 0 when only its protocol
    names are wanted)."""
    v4, v6 = request.address(4), request.address(6)
    return Peer(
        request_id=str(request.id),
        asn=request.asn,
        node_id=request.node_id,
        ipv4=ipaddress.IPv4Address(v4) if v4 else None,
        ipv6=ipaddress.IPv6Address(v6) if v6 else None,
        max_prefix_ipv4=limits.ipv4 if limits else 0,
        max_prefix_ipv6=limits.ipv6 if limits else 0,
        description=f"AS{request.asn} {request.node_id}",
    )


def member_protocols(request: JoinRequest) -> set[str]:
    """The BGP protocol names the renderer gives this member's sessions."""
    return set(peer_protocols(peer_of(request)))


def _host(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | str:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return host


def record_peers(db: Session, server: str, limits: list[PeerLimits]) -> None:
    """Make the server's peer rows those of ``limits`` (a new peer is not yet applied
    there: ``applied`` is set once the server runs it)."""
    wanted = {uuid.UUID(p.request_id): p for p in limits}
    rows = {
        r.request_id: r
        for r in db.scalars(select(RouteServerPeer).where(RouteServerPeer.server == server))
    }
    for request_id, row in rows.items():
        if request_id not in wanted:
            db.delete(row)
    now = utcnow()
    for request_id, lim in wanted.items():
        row = rows.get(request_id) or RouteServerPeer(
            server=server, request_id=request_id, applied=False
        )
        changed = (row.max_prefix_ipv4, row.max_prefix_ipv6) != (lim.limits.ipv4, lim.limits.ipv6)
        row.asn = lim.asn
        row.max_prefix_ipv4 = lim.limits.ipv4
        row.max_prefix_ipv6 = lim.limits.ipv6
        row.max_prefix_source = lim.limits.source
        if changed:
            row.updated_at = now
        db.add(row)
