"""What each route server should run, built from the database and the configuration.

``build`` reads the IX network's route-server clients (provisioning-and-authorized and
active requests) and their PeeringDB records, and returns the ``DesiredConfig`` the
route-server adapter renders; ``record_peers`` keeps the per-peer rows (limits, their
source, whether the server runs the peer) in step with it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import threading
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ztix.config import RouteServerConfig, Settings
from ztix.db.base import utcnow
from ztix.db.models import (
    AddressAssignment,
    IrrData,
    IxNetwork,
    JoinRequest,
    PeeringDBNetwork,
    RouteServerPeer,
    RouteServerState,
)
from ztix.domain.requests import RequestStatus
from ztix.domain.routeserver import (
    Blackholing,
    DesiredConfig,
    Peer,
    Policy,
    RouteServer,
    RpkiValidator,
    peer_protocols,
    protocol_base,
)
from ztix.domain.rpki import blackhole_roas
from ztix.peeringdb.cache import MaxPrefix, max_prefix, never_via_route_servers, receive_limit
from ztix.rpki import vrp
from ztix.workflow.bgp_passwords import stored_password

# A member is a route-server client once it is authorized on ZeroTier (provisioning,
# waiting for the route servers) and while it is active. Leaving removes it.
CLIENT_STATUSES = (RequestStatus.PROVISIONING.value, RequestStatus.ACTIVE.value)


def enabled_servers(settings: Settings) -> list[RouteServerConfig]:
    """Enabled route servers in the order they are reconfigured (pair order, then name)."""
    servers = [rs for rs in settings.routeservers.servers if rs.enabled]
    return sorted(servers, key=lambda rs: (rs.pair_order, rs.name))


def is_drained(db: Session, name: str) -> bool:
    state = db.get(RouteServerState, name)
    return bool(state is not None and state.drained)


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
    receive: MaxPrefix | None = None


@dataclass(frozen=True)
class Client:
    """A route-server client as :func:`build` reads it: columns, not ORM objects (making
    2,000 ``JoinRequest`` and ``AddressAssignment`` objects every pass was most of a pass's
    database time)."""

    id: uuid.UUID
    asn: int
    node_id: str
    max_prefix_ipv4_override: int | None
    max_prefix_ipv6_override: int | None
    receive_limit_ipv4_override: int | None
    receive_limit_ipv6_override: int | None
    bgp_password_encrypted: str | None
    addresses: tuple[tuple[int, str], ...] = ()  # (family, address), by family

    def address(self, family: int) -> str | None:
        return next((a for f, a in self.addresses if f == family), None)


def client_requests(db: Session, network_id: int) -> list[Client]:
    """The network's route-server clients by ASN and node ID, with their addresses: two
    statements, whatever their number."""
    clients = (
        JoinRequest.network_id == network_id,
        JoinRequest.status.in_(CLIENT_STATUSES),
        JoinRequest.zt_authorized.is_(True),
    )
    addresses: dict[uuid.UUID, list[tuple[int, str]]] = {}
    for request_id, family, address in db.execute(
        select(AddressAssignment.request_id, AddressAssignment.family, AddressAssignment.address)
        .join(JoinRequest, JoinRequest.id == AddressAssignment.request_id)
        .where(*clients)
        .order_by(AddressAssignment.request_id, AddressAssignment.family)
    ):
        addresses.setdefault(request_id, []).append((family, address))
    rows = db.execute(
        select(
            JoinRequest.id,
            JoinRequest.asn,
            JoinRequest.node_id,
            JoinRequest.max_prefix_ipv4_override,
            JoinRequest.max_prefix_ipv6_override,
            JoinRequest.receive_limit_ipv4_override,
            JoinRequest.receive_limit_ipv6_override,
            JoinRequest.bgp_password_encrypted,
        )
        .where(*clients)
        .order_by(JoinRequest.asn, JoinRequest.node_id)
    )
    return [Client(*row, addresses=tuple(addresses.get(row[0], ()))) for row in rows]


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
        include_base=None if rs.include_base is None else str(rs.include_base),
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
            receive_limit_action=conf.policy.receive_limit_action,
            rpki_invalid=conf.policy.rpki_invalid,
            irr_prefix=conf.policy.irr_prefix,
            irr_origin=conf.policy.irr_origin,
            rpki_valid_is_irr_valid=conf.policy.rpki_valid_is_irr_valid,
            irr_more_specifics=conf.policy.irr_more_specifics,
        ),
        never_via_route_servers=tuple(never_via_route_servers(db)),
        drained=is_drained(db, rs.name),
        blackholing=Blackholing(
            enabled=declared.blackholing.enabled,
            next_hop_ipv4=declared.blackholing.next_hop_ipv4,
            next_hop_ipv6=declared.blackholing.next_hop_ipv6,
        ),
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
        receive = receive_limit(
            records.get(request.asn),
            conf.policy,
            lim,
            override_ipv4=request.receive_limit_ipv4_override,
            override_ipv6=request.receive_limit_ipv6_override,
        )
        peers.append(
            dataclasses.replace(
                peer_of(request, lim),
                receive_limit_ipv4=receive.ipv4,
                receive_limit_ipv6=receive.ipv6,
                password=stored_password(settings, request),
            )
        )
        limits.append(PeerLimits(str(request.id), request.asn, lim, receive))
    if settings.irr.enabled:
        irr = irr_networks(db, rs.network, {p.asn for p in peers})
        peers = [with_irr(p, irr.get(p.asn)) for p in peers]
    else:
        irr_cache.drop(rs.network)
    vrp_path = vrp_file(settings, rs)
    if server.blackholing.enabled and vrp_path is not None:
        peers = peers_with_blackhole_roas(peers, vrp_path)
    return DesiredConfig(server=server, peers=tuple(peers)), limits


def peer_of(request: JoinRequest | Client, limits: MaxPrefix | None = None) -> Peer:
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


@dataclass(frozen=True, eq=False)
class IrrNetworks:
    """A member's last good IRR data, parsed: what a ``Peer`` holds. Compared by identity:
    the cache hands out the same object (and the same tuples) while the stored data is
    unchanged, which is what lets the render cache's peer keys short-cut on identity."""

    prefixes_ipv4: tuple[ipaddress.IPv4Network, ...]
    prefixes_ipv6: tuple[ipaddress.IPv6Network, ...]
    origins: tuple[int, ...]


def parse_irr(row: IrrData | None) -> IrrNetworks | None:
    """A stored row's data parsed (None when there is none: "not checked")."""
    if row is None or row.origins is None or row.prefixes_ipv4 is None:
        return None
    return IrrNetworks(
        prefixes_ipv4=tuple(ipaddress.IPv4Network(p) for p in row.prefixes_ipv4),
        prefixes_ipv6=tuple(ipaddress.IPv6Network(p) for p in row.prefixes_ipv6 or ()),
        origins=tuple(int(a) for a in row.origins),
    )


def with_irr(peer: Peer, irr: IrrNetworks | None) -> Peer:
    """``peer`` with its parsed IRR data (unchanged when there is none: "not checked")."""
    if irr is None:
        return peer
    return replace(
        peer,
        irr_prefixes_ipv4=irr.prefixes_ipv4,
        irr_prefixes_ipv6=irr.prefixes_ipv6,
        irr_origins=irr.origins,
    )


def peer_with_irr(peer: Peer, row: IrrData | None) -> Peer:
    """``peer`` with its last good IRR data (unchanged when there is none: "not checked")."""
    return with_irr(peer, parse_irr(row))


class IrrCache:
    """The members' parsed IRR data, kept per process from one pass to the next while the
    stored data is unchanged.

    Every sync and reconciler pass builds the desired state afresh; parsing the members'
    prefix lists again each time (90,000 networks at 2,000 members with realistic data)
    made new objects whose keys the render cache then had to build and compare again.
    Here an unchanged member gets the very same :class:`IrrNetworks` as last pass.

    An entry is keyed by the row's ``data_hash``, the SHA-256 of exactly the stored
    prefixes and origins, written in the same statement as them (``workflow.irr._store``,
    the only writer, already treats an equal hash as unchanged data). A row without a hash
    is parsed every pass and never kept. Entries are held per scope (an IX network: the
    servers of a pair share its entries) and only for the ASNs of that scope's last pass:
    a member that left is dropped at the next pass."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scopes: dict[str, dict[int, tuple[str, IrrNetworks]]] = {}

    def networks(
        self,
        scope: str,
        hashes: Mapping[int, str | None],
        load: Callable[[Collection[int]], Mapping[int, IrrData]],
    ) -> dict[int, IrrNetworks | None]:
        """The parsed data of the ASNs in ``hashes`` (each one's stored ``data_hash``; an
        ASN with no row is left out), reusing the last pass's where the hash is equal and
        parsing what ``load`` returns for the others."""
        with self._lock:
            last = self._scopes.get(scope, {})
        found: dict[int, IrrNetworks | None] = {}
        kept: dict[int, tuple[str, IrrNetworks]] = {}
        missing: list[int] = []
        for asn, digest in hashes.items():
            entry = last.get(asn)
            if digest is not None and entry is not None and entry[0] == digest:
                found[asn] = entry[1]
                kept[asn] = entry
            else:
                missing.append(asn)
        rows = load(missing) if missing else {}
        for asn in missing:
            row = rows.get(asn)
            parsed = parse_irr(row)
            found[asn] = parsed
            # Kept under the hash of the row as loaded (a refresh may have committed
            # between the two statements).
            if row is not None and row.data_hash is not None and parsed is not None:
                kept[asn] = (row.data_hash, parsed)
        with self._lock:
            self._scopes[scope] = kept
        return found

    def drop(self, scope: str) -> None:
        """Forget a scope's entries (IRR filtering turned off)."""
        with self._lock:
            self._scopes.pop(scope, None)


# One per process: route-server sync rounds and the reconciler share it.
irr_cache = IrrCache()


def irr_networks(db: Session, scope: str, asns: Iterable[int]) -> dict[int, IrrNetworks | None]:
    """The members' parsed IRR data through :data:`irr_cache`: their rows' hashes first,
    then the full rows only of those whose data changed since the last pass (none, on most
    passes: the prefix lists are neither read nor parsed)."""
    wanted = set(asns)
    if not wanted:
        irr_cache.drop(scope)
        return {}
    hashes: dict[int, str | None] = {
        asn: digest
        for asn, digest in db.execute(
            select(IrrData.asn, IrrData.data_hash).where(IrrData.asn.in_(wanted))
        )
    }
    return irr_cache.networks(scope, hashes, lambda missing: irr_rows(db, missing))


def vrp_file(settings: Settings, rs: RouteServerConfig) -> Path | None:
    """The VRP file whose ROAs entitle blackholes on ``rs``'s network: the network's
    ``blackholing.vrp_file``, else, on the embedded route server, the ROA file its StayRTR
    serves."""
    declared = settings.find_network(rs.network)
    if declared is not None and declared.blackholing.vrp_file is not None:
        return declared.blackholing.vrp_file
    embedded = settings.routeservers.embedded
    if embedded.enabled and rs.name == embedded.name:
        return embedded.roas
    return None


def peers_with_blackhole_roas(peers: list[Peer], path: Path) -> list[Peer]:
    """``peers`` with the covering ROAs that entitle their blackholes (the ROAs of their ASN
    or IRR origins). The file is re-read only when its mtime or size changed; every sync and
    reconciler pass builds the desired state, so a changed file makes the servers behind for
    exactly the members whose ROAs changed. Missing or unreadable: no ROA entitles."""
    data = vrp.load(path)
    roas = data.by_asn if data is not None else {}
    return [
        replace(
            p,
            blackhole_roas_ipv4=blackhole_roas(roas, p.asn, p.irr_origins, 4),  # type: ignore[arg-type]
            blackhole_roas_ipv6=blackhole_roas(roas, p.asn, p.irr_origins, 6),  # type: ignore[arg-type]
        )
        for p in peers
    ]


def irr_rows(db: Session, asns: Iterable[int]) -> dict[int, IrrData]:
    wanted = set(asns)
    if not wanted:
        return {}
    return {r.asn: r for r in db.scalars(select(IrrData).where(IrrData.asn.in_(wanted)))}


def member_protocols(request: JoinRequest) -> set[str]:
    """The BGP protocol names the renderer gives this member's sessions."""
    return set(peer_protocols(peer_of(request)))


def session_requests(db: Session, server: str) -> dict[str, uuid.UUID]:
    """The requests behind the server's member sessions: BGP protocol name → request ID
    (both families), for the peers recorded for ``server``."""
    rows = db.execute(
        select(JoinRequest.id, JoinRequest.asn, JoinRequest.node_id)
        .join(RouteServerPeer, RouteServerPeer.request_id == JoinRequest.id)
        .where(RouteServerPeer.server == server)
    )
    found: dict[str, uuid.UUID] = {}
    for request_id, asn, node_id in rows:
        for family in ("v4", "v6"):
            found[f"{protocol_base(asn, node_id)}_{family}"] = request_id
    return found


def _host(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | str:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return host


def record_peers(db: Session, server: str, limits: list[PeerLimits]) -> None:
    """Make the server's peer rows those of ``limits`` (a new peer is not yet applied
    there: ``applied`` is set once the server runs it). Every sync pass calls this with all
    the members: the rows are read as columns and only the differences written (loading
    2,000 row objects cost about 0.8 s)."""
    wanted = {uuid.UUID(p.request_id): p for p in limits}
    peer = RouteServerPeer
    rows = {
        r.request_id: r
        for r in db.execute(
            select(
                peer.request_id,
                peer.asn,
                peer.max_prefix_ipv4,
                peer.max_prefix_ipv6,
                peer.max_prefix_source,
                peer.receive_limit_ipv4,
                peer.receive_limit_ipv6,
            ).where(peer.server == server)
        )
    }
    gone = [request_id for request_id in rows if request_id not in wanted]
    if gone:
        db.execute(delete(peer).where(peer.server == server, peer.request_id.in_(gone)))
    now = utcnow()
    for request_id, lim in wanted.items():
        values = {
            "asn": lim.asn,
            "max_prefix_ipv4": lim.limits.ipv4,
            "max_prefix_ipv6": lim.limits.ipv6,
            "max_prefix_source": lim.limits.source,
        }
        if lim.receive is not None:
            values["receive_limit_ipv4"] = lim.receive.ipv4
            values["receive_limit_ipv6"] = lim.receive.ipv6
        row = rows.get(request_id)
        if row is None:
            db.add(
                peer(server=server, request_id=request_id, applied=False, updated_at=now, **values)
            )
            continue
        if all(getattr(row, key) == value for key, value in values.items()):
            continue
        limits_now = tuple(
            v for k, v in values.items() if k.startswith(("max_prefix_ipv", "receive_"))
        )
        limits_then = tuple(
            getattr(row, k) for k in values if k.startswith(("max_prefix_ipv", "receive_"))
        )
        if limits_now != limits_then:
            values["updated_at"] = now
        db.execute(
            update(peer)
            .where(peer.server == server, peer.request_id == request_id)
            .values(**values)
        )
