"""Render the BIRD 2 configuration of one route server from its desired state.

``render(desired)`` is a pure function: the same :class:`DesiredConfig` always gives the same
files, byte for byte, and nothing is read from disk or the clock. It returns relative paths
(``ztix.conf`` and ``peers/group-NN.conf``, the members grouped by ``peer_groups``) mapped
to their text; the transport writes them under the server's ``config_dir``. The host's own
``bird.conf`` keeps the router ID, the ``device`` protocol and logging, and includes
``ztix.conf`` (docs/route-servers.md).

Safety (DESIGN §5): templates can print only ints, parsed addresses/networks and the small
validated token types of ``tokens``; any other value raises :class:`RenderError` at render
time. The policy's data (communities, bogons) is ``policy_data``. The
model's free-text ``Peer.description`` is never rendered: the BGP description is built from the
peer's ASN and node ID.

The output targets BIRD 2.0.12 (Debian 12) and later: no typed function returns, and nothing
newer than 2.0.12's filter language.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import jinja2

from ztix.domain.identifiers import ASN_MAX, ASN_MIN, SPECIAL_ASNS
from ztix.domain.routeserver import (
    Blackholing,
    DesiredConfig,
    Peer,
    Policy,
    RouteServer,
    RpkiValidator,
    files_hash,
)
from ztix.domain.routeserver import peer_protocols as peer_protocols
from ztix.routeserver import peer_keys as _keys
from ztix.routeserver.peer_groups import PEERS_DIR, Group, group_files
from ztix.routeserver.peer_groups import PeerFile as _PeerFile
from ztix.routeserver.peer_groups import peer_file as peer_file
from ztix.routeserver.peer_keys import PEER_KEY_FIELDS as PEER_KEY_FIELDS
from ztix.routeserver.peer_keys import PeerKey, forget_keys, peer_keys, reuse_or_render, same_keys
from ztix.routeserver.policy_data import (
    BLACKHOLE,
    BOGONS_V4,
    BOGONS_V6,
    CONTROL_ANNOUNCE,
    CONTROL_DO_NOT_ANNOUNCE,
    GRACEFUL_SHUTDOWN,
    INFO_IRR_FUNCTION,
    INFO_RPKI_FUNCTION,
    IRR_POLICIES,
    NO_EXPORT,
    REJECT_FUNCTION,
    RPKI_INVALID_POLICIES,
    IrrInfo,
    RejectReason,
    RpkiInfo,
)
from ztix.routeserver.tokens import (
    Comment,
    ConfigPath,
    HexId,
    Hostname,
    Keyword,
    Label,
    Password,
    RelativeConfigPath,
    RenderError,
    Symbol,
    bird_value,
)

MAIN_FILE = "ztix.conf"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_IMPORT_LIMIT = 2**31 - 1


# ------------------------------------------------------------------------- template contexts

Rows = tuple[tuple[Any, ...], ...]


def _rows(values: Iterable[Any], per_row: int) -> Rows:
    """Split a sorted list into output lines for the set-literal macros."""
    items = tuple(values)
    return tuple(items[i : i + per_row] for i in range(0, len(items), per_row))


@dataclass(frozen=True)
class _Validator:
    protocol: Symbol
    address: IPAddress | Hostname
    port: int
    refresh: int
    retry: int
    expire: int

    @property
    def quoted(self) -> bool:
        return isinstance(self.address, Hostname)


@dataclass(frozen=True)
class _Session:
    family: int  # 4 or 6
    name: Symbol
    local_ip: IPAddress
    peer_ip: IPAddress
    import_limit: int
    receive_limit: int | None
    irr_prefixes: Rows | None  # rows of networks, each allowed with its more-specifics
    # Per origin ASN, rows of covering ROA prefixes whose more-specifics it may blackhole.
    blackhole_roas: tuple[tuple[int, Rows], ...] = ()


@dataclass(frozen=True)
class _Peer:
    base: Symbol
    asn: int
    node_id: HexId
    irr_origins: Rows | None  # rows of ASNs
    sessions: tuple[_Session, ...]
    password: Password | None = None


@dataclass(frozen=True)
class _Named:
    name: Symbol
    value: int


@dataclass(frozen=True)
class _Bogon:
    network: IPNetwork
    comment: Comment


# ------------------------------------------------------------------------------- validation


def _int(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RenderError(f"{what} must be an integer in {low}..{high}, got {value!r}")
    return int(value)


def _asn(value: object, what: str) -> int:
    return _int(value, what, ASN_MIN, ASN_MAX)


def _address(value: object, version: int, what: str) -> IPAddress:
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    if type(value) is not cls:
        raise RenderError(f"{what} must be an IPv{version} address, got {value!r}")
    return value


def _network(value: object, version: int, what: str) -> IPNetwork:
    cls = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    if type(value) is not cls:
        raise RenderError(f"{what} must be an IPv{version} network, got {value!r}")
    return value


def _validator(v: RpkiValidator) -> _Validator:
    name = v.name
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_]{0,30}", name):
        raise RenderError(f"RPKI validator name must match [a-z0-9][a-z0-9_]{{0,30}}: {name!r}")
    address: IPAddress | Hostname
    if isinstance(v.address, ipaddress.IPv4Address | ipaddress.IPv6Address):
        address = v.address
    elif isinstance(v.address, str):
        try:
            address = ipaddress.ip_address(v.address)
        except ValueError:
            address = Hostname(v.address.lower().rstrip("."))
    else:
        raise RenderError(f"RPKI validator {name}: address {v.address!r} is not an IP or name")
    # BIRD's own bounds for `protocol rpki` (doc 6.13): refresh < 1 day, retry <= 2 h,
    # expire 10 min .. 2 days.
    return _Validator(
        protocol=Symbol(f"ztix_rpki_{name}"),
        address=address,
        port=_int(v.port, f"RPKI validator {name} port", 1, 65535),
        refresh=_int(v.refresh_seconds, f"RPKI validator {name} refresh", 1, 86399),
        retry=_int(v.retry_seconds, f"RPKI validator {name} retry", 1, 7200),
        expire=_int(v.expire_seconds, f"RPKI validator {name} expire", 600, 172800),
    )


def _policy(p: Policy) -> dict[str, Any]:
    v4_min = _int(p.ipv4_min_length, "policy ipv4_min_length", 1, 32)
    v4_max = _int(p.ipv4_max_length, "policy ipv4_max_length", v4_min, 32)
    v6_min = _int(p.ipv6_min_length, "policy ipv6_min_length", 1, 128)
    v6_max = _int(p.ipv6_max_length, "policy ipv6_max_length", v6_min, 128)
    if p.rpki_invalid not in RPKI_INVALID_POLICIES:
        raise RenderError(f"policy rpki_invalid must be reject or tag, got {p.rpki_invalid!r}")
    for name, value in (("irr_prefix", p.irr_prefix), ("irr_origin", p.irr_origin)):
        if value not in IRR_POLICIES:
            raise RenderError(f"policy {name} must be reject or tag, got {value!r}")
    return {
        "min_length": {4: v4_min, 6: v6_min},
        "max_length": {4: v4_max, 6: v6_max},
        "max_as_path_length": _int(p.max_as_path_length, "policy max_as_path_length", 1, 255),
        "import_limit_action": Keyword(p.import_limit_action),
        "receive_limit_action": Keyword(p.receive_limit_action),
        "rpki_reject_invalid": p.rpki_invalid == "reject",
        "irr_reject_prefix": p.irr_prefix == "reject",
        "irr_reject_origin": p.irr_origin == "reject",
        "rpki_valid_is_irr_valid": bool(p.rpki_valid_is_irr_valid),
        "irr_more_specifics": bool(p.irr_more_specifics),
    }


def _irr_prefixes(networks: Iterable[object] | None, version: int, what: str) -> Rows | None:
    """The member's AS-SET prefixes (route objects); with policy irr_more_specifics each is
    accepted with its more-specifics (the length check, which runs first, caps how
    specific), else exactly."""
    if networks is None:
        return None
    unique = {_network(n, version, what) for n in networks}
    # By integer key: the networks' own __lt__ costs ten times more (1 s at 2,000 members
    # with realistic IRR data).
    return _rows(sorted(unique, key=lambda n: (int(n.network_address), n.prefixlen)), 4)


def _blackhole_roas(
    pairs: Iterable[object], version: int, what: str
) -> tuple[tuple[int, Rows], ...]:
    """Covering ROAs by origin ASN, each ASN's prefixes as set rows (sorted)."""
    grouped: dict[int, set[IPNetwork]] = {}
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise RenderError(f"{what} must be (ASN, network) pairs, got {pair!r}")
        grouped.setdefault(_asn(pair[0], what), set()).add(_network(pair[1], version, what))
    return tuple(
        (asn, _rows(sorted(nets, key=lambda n: (int(n.network_address), n.prefixlen)), 4))
        for asn, nets in sorted(grouped.items())
    )


def _session(
    base: Symbol,
    version: int,
    address: object,
    local: IPAddress,
    lan: IPNetwork,
    limit: object,
    receive: object,
    irr: Iterable[object] | None,
    roas: Iterable[object] = (),
) -> _Session | None:
    """One BGP session of a peer, or None when the peer has no address in that family."""
    if address is None:
        return None
    peer_ip = _address(address, version, f"{base} IPv{version} address")
    if peer_ip not in lan or peer_ip == local:
        raise RenderError(f"{base}: {peer_ip} is not a member address in the LAN {lan}")
    return _Session(
        family=version,
        name=Symbol(f"{base}_v{version}"),
        local_ip=local,
        peer_ip=peer_ip,
        import_limit=_int(limit, f"{base} IPv{version} max-prefix", 1, MAX_IMPORT_LIMIT),
        receive_limit=None
        if receive is None
        else _int(receive, f"{base} IPv{version} receive limit", 1, MAX_IMPORT_LIMIT),
        irr_prefixes=_irr_prefixes(irr, version, f"{base} IRR prefix"),
        blackhole_roas=_blackhole_roas(roas, version, f"{base} blackhole ROA"),
    )


def _peer(peer: Peer, server: RouteServer) -> _Peer:
    asn = _asn(peer.asn, f"peer {peer.request_id!r} ASN")
    node_id = HexId(peer.node_id)
    if len(node_id) != 10:
        raise RenderError(f"peer AS{asn}: node ID must be 10 hex digits, got {node_id!r}")
    if asn == server.asn:
        raise RenderError(f"peer AS{asn} {node_id} has the route server's own ASN")
    base = Symbol(f"AS{asn}_{node_id}")
    origins: Rows | None = None
    if peer.irr_origins is not None:
        origins = _rows(sorted({_asn(o, f"{base} IRR origin") for o in peer.irr_origins}), 10)
    candidates = (
        _session(
            base,
            4,
            peer.ipv4,
            server.ipv4,
            server.ipv4_prefix,
            peer.max_prefix_ipv4,
            peer.receive_limit_ipv4,
            peer.irr_prefixes_ipv4,
            peer.blackhole_roas_ipv4 if server.blackholing.enabled else (),
        ),
        _session(
            base,
            6,
            peer.ipv6,
            server.ipv6,
            server.ipv6_prefix,
            peer.max_prefix_ipv6,
            peer.receive_limit_ipv6,
            peer.irr_prefixes_ipv6,
            peer.blackhole_roas_ipv6 if server.blackholing.enabled else (),
        ),
    )
    sessions = tuple(s for s in candidates if s is not None)
    held = {server.blackholing.next_hop_ipv4, server.blackholing.next_hop_ipv6}
    if server.blackholing.enabled and any(s.peer_ip in held for s in sessions):
        raise RenderError(f"{base} holds the network's blackhole next hop")
    if not sessions:
        raise RenderError(f"{base}: the peer has neither an IPv4 nor an IPv6 address")
    return _Peer(
        base=base,
        asn=asn,
        node_id=node_id,
        irr_origins=origins,
        sessions=sessions,
        password=None if peer.password is None else Password(peer.password),
    )


def _server(server: RouteServer) -> dict[str, Any]:
    asn = _asn(server.asn, "route-server ASN")
    lan4 = _network(server.ipv4_prefix, 4, "peering LAN IPv4 prefix")
    lan6 = _network(server.ipv6_prefix, 6, "peering LAN IPv6 prefix")
    ipv4 = _address(server.ipv4, 4, "route-server IPv4 address")
    ipv6 = _address(server.ipv6, 6, "route-server IPv6 address")
    if ipv4 not in lan4 or ipv6 not in lan6:
        raise RenderError("the route server's addresses must be inside the peering LAN prefixes")
    validators = tuple(_validator(v) for v in server.validators)
    names = [v.protocol for v in validators]
    if len(set(names)) != len(names):
        raise RenderError("RPKI validator names must be unique")
    never = sorted(
        {_int(a, "never-via-route-servers ASN", 1, ASN_MAX) for a in server.never_via_route_servers}
    )
    if not isinstance(server.drained, bool):
        raise RenderError(f"drained must be a bool, got {server.drained!r}")
    return {
        "name": Label(server.name),
        "asn": asn,
        "asn_is_16bit": asn <= 65535,
        "ipv4": ipv4,
        "ipv6": ipv6,
        "lan4": lan4,
        "lan6": lan6,
        "config_dir": ConfigPath(server.config_dir.rstrip("/")),
        **_includes(server),
        "validators": tuple(sorted(validators, key=lambda v: v.protocol)),
        "never_via_route_servers": _rows(never, 10),
        "drained": server.drained,
        "blackholing": _blackholing(server.blackholing, server),
        "bgp_port": _int(server.bgp_port, "BGP port", 1, 65535),
    }


def _includes(server: RouteServer) -> dict[str, ConfigPath | RelativeConfigPath]:
    """What the two include lines name: the host's bird.conf includes ``main_include``
    (ztix.conf), ztix.conf includes ``peers_include``/*.conf. Absolute by default; with an
    ``include_base`` (the directory of the host's bird.conf) both are relative, and BIRD
    resolves each against the directory of the file holding it: bird.conf's against
    include_base, ztix.conf's against config_dir (so ``peers``)."""
    config_dir = ConfigPath(server.config_dir.rstrip("/"))
    if server.include_base is None:
        return {
            "main_include": ConfigPath(f"{config_dir}/{MAIN_FILE}"),
            "peers_include": ConfigPath(f"{config_dir}/{PEERS_DIR}"),
        }
    base = ConfigPath(server.include_base.rstrip("/"))
    return {
        "main_include": RelativeConfigPath(posixpath.relpath(f"{config_dir}/{MAIN_FILE}", base)),
        "peers_include": RelativeConfigPath(PEERS_DIR),
    }


def _blackholing(b: Blackholing, server: RouteServer) -> dict[str, Any]:
    """Whether BLACKHOLE routes are honoured, and the next hop per family (or None)."""
    if not isinstance(b.enabled, bool):
        raise RenderError(f"blackholing enabled must be a bool, got {b.enabled!r}")
    next_hops: dict[int, IPAddress | None] = {4: None, 6: None}
    for version, value, lan, own in (
        (4, b.next_hop_ipv4, server.ipv4_prefix, server.ipv4),
        (6, b.next_hop_ipv6, server.ipv6_prefix, server.ipv6),
    ):
        if value is None:
            continue
        address = _address(value, version, f"blackhole IPv{version} next hop")
        if address not in lan or address == own:
            raise RenderError(
                f"the blackhole next hop {address} must be in the peering LAN {lan} and "
                "not the route server's own address"
            )
        next_hops[version] = address
    return {"enabled": b.enabled, "next_hop": next_hops}


@cache  # fixed for the process; callers spread it into their own context
def _constants() -> dict[str, Any]:
    return {
        "reject_reasons": tuple(
            _Named(Symbol(f"ZTIX_REJECT_{r.name}"), r.value) for r in RejectReason
        ),
        "rpki_info": tuple(_Named(Symbol(f"ZTIX_RPKI_{r.name}"), r.value) for r in RpkiInfo),
        "irr_info": tuple(_Named(Symbol(f"ZTIX_IRR_{r.name}"), r.value) for r in IrrInfo),
        "reject_function": REJECT_FUNCTION,
        "info_rpki_function": INFO_RPKI_FUNCTION,
        "info_irr_function": INFO_IRR_FUNCTION,
        "control_do_not_announce": CONTROL_DO_NOT_ANNOUNCE,
        "control_announce": CONTROL_ANNOUNCE,
        "graceful_shutdown": GRACEFUL_SHUTDOWN,
        "blackhole": BLACKHOLE,
        "no_export": NO_EXPORT,
        "invalid_asns": SPECIAL_ASNS,
        "bogons_v4": tuple(_bogon(n, c) for n, c in BOGONS_V4),
        "bogons_v6": tuple(_bogon(n, c) for n, c in BOGONS_V6),
    }


def _bogon(network: str, comment: str) -> _Bogon:
    return _Bogon(ipaddress.ip_network(network), Comment(comment))


# -------------------------------------------------------------------------------- rendering


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ztix.routeserver", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - BIRD config, not HTML; values are guarded by finalize
        finalize=bird_value,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


PEERS_PLACEHOLDER = "peers/00-ztix.conf"


def rpki_protocols(server: RouteServer) -> tuple[str, ...]:
    """The RTR protocol names ztix.conf defines, one per validator."""
    return tuple(sorted(f"ztix_rpki_{v.name}" for v in server.validators))


def expected_protocols(desired: DesiredConfig) -> set[str]:
    """Every BIRD protocol the rendered configuration must create (checked after apply)."""
    names = set(rpki_protocols(desired.server))
    for peer in desired.peers:
        names.update(peer_protocols(peer))
    return names


def render(desired: DesiredConfig) -> dict[str, str]:
    """Turn the desired state into ``{relative path: file text}``, sorted by path."""
    try:
        return _render(desired, {}, {})[0]
    finally:
        forget_keys()


def _render(
    desired: DesiredConfig,
    known: Mapping[str, tuple[PeerKey, _PeerFile]],
    groups: Mapping[int, Group],
) -> tuple[dict[str, str], dict[str, tuple[PeerKey, _PeerFile]], dict[int, Group]]:
    """:func:`render`, reusing ``known`` peers' texts (rendered and validated for the same
    server: see :func:`peer_keys.reuse_or_render`) and ``groups`` whose members' texts are
    unchanged; also returns every peer's key and text and every group, for the next call."""
    server = _server(desired.server)
    policy = _policy(desired.server.policy)
    context = {"server": server, "policy": policy, **_constants()}
    peer_template = _environment().get_template("peer.j2")

    def render_peer(peer: Peer) -> _PeerFile:
        p = _peer(peer, desired.server)
        return (p.base, (p.asn, p.node_id), peer_template.render(context, peer=p))

    peers, rendered = reuse_or_render(desired.peers, known, render_peer)
    peers.sort(key=lambda done: done[1])
    seen: set[str] = set()
    for base, _, _ in peers:
        if base in seen:
            raise RenderError(f"two peers render to the same protocol {base}")
        seen.add(base)
    files = {
        MAIN_FILE: _main_text(desired.server, context),
        # Always there, so peers/ exists and its glob matches even with no member: BIRD
        # 2.0.12 refuses `include "peers/*.conf"` when the directory is missing.
        PEERS_PLACEHOLDER: "# The route server's clients are in the group-NN.conf files.\n",
    }
    grouped, groups_now = group_files(peers, groups)
    files.update(grouped)
    return dict(sorted(files.items())), rendered, groups_now


# The last server's ztix.conf, per thread (it depends on the server and the template
# alone); the same string again is also what the file digests remember by identity.
_last_main = threading.local()


def _main_text(server: RouteServer, context: Mapping[str, Any]) -> str:
    """ztix.conf for ``server`` (already validated into ``context``)."""
    template = _environment().get_template("main.j2")  # another object once reloaded
    last: tuple[RouteServer, jinja2.Template, str] | None = getattr(_last_main, "value", None)
    if last is not None and last[1] is template and last[0] == server:
        return last[2]
    text = template.render(context)
    _last_main.value = (server, template, text)
    return text


def render_host_config(server: RouteServer, *, log_file: str | None = None) -> str:
    """A minimal host ``bird.conf`` that includes ZT-IX's main file (for tests and docs).

    On a real route server the host's bird.conf is the operator's own; it must contain what
    this one contains (docs/route-servers.md, "What the host's bird.conf must contain").
    """
    context = {
        "server": _server(server),
        "router_id": _address(server.router_id, 4, "router ID"),
        "log_file": ConfigPath(log_file) if log_file is not None else None,
    }
    return _environment().get_template("host.j2").render(context)


def render_hash(files: Mapping[str, str]) -> str:
    """The "desired hash": the same digest the applier reports as the applied hash."""
    return files_hash(files)


@dataclass(frozen=True)
class _Rendering:
    server: RouteServer
    keys: tuple[PeerKey, ...]  # the peers', in the desired state's order
    files: dict[str, str]
    digest: str
    peers: dict[str, tuple[PeerKey, _PeerFile]]
    groups: dict[int, Group]
    parts: _keys.NetworkParts  # the key parts of the peers' IRR network lists, by identity


class RenderCache:
    """The last rendering of each route server, kept while its desired state stays equal.

    The reconciler asks every pass whether each server is behind, so on an IX where nothing
    changed that question costs a comparison, not a render. Rendering depends only on the
    desired state (templates and constants are fixed for the process), so an equal state
    has the same files. Peers are compared by :func:`peer_keys.peer_key`: comparing the
    ``Peer`` objects costs about 1 s at 2,000 members with realistic IRR data.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, _Rendering] = {}

    def rendered(self, key: str, desired: DesiredConfig) -> tuple[dict[str, str], str]:
        """``(files, desired hash)`` for ``desired``; ``key`` names the route server.

        When only some peers changed (a member joined), the others' files are reused: a
        peer's file depends only on the peer and the server, so equal ones render alike
        (2,000 members: a few seconds; one more: the peers' keys, one peer rendered, its
        group joined again)."""
        with self._lock:
            last = self._last.get(key)
        parts: _keys.NetworkParts = {}
        try:
            keys = peer_keys(desired.peers, last.parts if last is not None else {}, parts)
            same_server = last is not None and last.server == desired.server
            if last is not None and same_server and same_keys(last.keys, keys):
                with self._lock:  # this pass's lists are the next pass's known ones
                    self._last[key] = replace(last, keys=keys, parts=parts)
                return dict(last.files), last.digest
            known, groups = (last.peers, last.groups) if last and same_server else ({}, {})
            # RenderError propagates; nothing is kept.
            files, peers, groups = _render(desired, known, groups)
        finally:
            forget_keys()
        digest = render_hash(files)
        with self._lock:
            self._last[key] = _Rendering(desired.server, keys, files, digest, peers, groups, parts)
        return dict(files), digest


# One per process: route-server sync rounds and the reconciler share it.
render_cache = RenderCache()
