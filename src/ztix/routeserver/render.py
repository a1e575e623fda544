"""Render the BIRD 2 configuration of one route server from its desired state.

``render(desired)`` is a pure function: the same :class:`DesiredConfig` always gives the same
files, byte for byte, and nothing is read from disk or the clock. It returns relative paths
(``ztix.conf`` and ``peers/<protocol>.conf``) mapped to their text; the transport writes them
under the server's ``config_dir``. The host's own ``bird.conf`` keeps the router ID, the
``device`` protocol and logging, and includes ``ztix.conf`` (docs/route-servers.md).

Safety (DESIGN §5): templates can print only ints, parsed addresses/networks and the small
validated token types below; any other value raises :class:`RenderError` at render time. The
model's free-text ``Peer.description`` is never rendered: the BGP description is built from the
peer's ASN and node ID.

The output targets BIRD 2.0.12 (Debian 12) and later: no typed function returns, and nothing
newer than 2.0.12's filter language.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from typing import Any, ClassVar

import jinja2

from ztix.routeserver.model import (
    DesiredConfig,
    Peer,
    Policy,
    RouteServer,
    RpkiValidator,
    files_hash,
)

MAIN_FILE = "ztix.conf"
PEERS_DIR = "peers"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ASN_MIN, ASN_MAX = 1, 4_294_967_294
MAX_IMPORT_LIMIT = 2**31 - 1


class RenderError(ValueError):
    """The desired state cannot be turned into a safe BIRD configuration."""


# --------------------------------------------------------------------------- community scheme
# Large communities (rs_asn, function, value), after arouteserver's defaults. One table, used by
# the templates, the tests and docs/route-servers.md.


class RejectReason(IntEnum):
    """Why a route was rejected: tagged ``(rs_asn, 65520, reason)`` on the kept route.

    Codes follow arouteserver's reject-reason table so looking glasses that know it
    (Alice-LG setups for arouteserver) decode ZT-IX's routes too.
    """

    AS_PATH_TOO_LONG = 1
    BOGON = 2
    PEERING_LAN = 3  # arouteserver: "Prefix is in global blacklist"
    WRONG_AFI = 4
    NEXT_HOP_NOT_PEER = 5
    FIRST_AS_NOT_PEER = 6
    INVALID_ASN_IN_PATH = 7
    ORIGIN_NOT_IN_IRR = 9
    NOT_GLOBAL_UNICAST_V6 = 10
    PREFIX_NOT_IN_IRR = 12
    PREFIX_LENGTH = 13
    RPKI_INVALID = 14
    NEVER_VIA_ROUTE_SERVERS = 15


REJECT_FUNCTION = 65520  # (rs_asn, 65520, reason)
INFO_RPKI_FUNCTION = 1000  # (rs_asn, 1000, x)
INFO_IRR_FUNCTION = 1001  # (rs_asn, 1001, x)


class RpkiInfo(IntEnum):
    """``(rs_asn, 1000, x)``: the route's RPKI origin-validation state, set on import."""

    VALID = 1
    UNKNOWN = 2
    NOT_CHECKED = 3  # no RTR validator configured
    INVALID = 4  # only with policy rpki_invalid = "tag"; such routes are never exported


class IrrInfo(IntEnum):
    """``(rs_asn, 1001, x)``: what the IRR (AS-SET) checks found, set on import."""

    ORIGIN_IN_AS_SET = 1
    ORIGIN_NOT_CHECKED = 2  # no IRR origin data for the member
    PREFIX_IN_AS_SET = 3
    PREFIX_NOT_CHECKED = 4  # no IRR prefix data for the member


# Export control, honoured per receiving peer and scrubbed before export (arouteserver's
# `configure` defaults; Euro-IX route-server community usage):
#   do not announce to peer   0:peer_as          rs_asn:0:peer_as
#   announce only to peer     rs_asn:peer_as     rs_asn:1:peer_as
#   announce to no peer       0:rs_asn           rs_asn:0:0
# Standard forms need 16-bit values: with a 32-bit peer or route-server ASN only the large
# form exists (and the large form always works).
CONTROL_DO_NOT_ANNOUNCE = 0
CONTROL_ANNOUNCE = 1

# Private, reserved and documentation ASNs refused anywhere in an AS path (IANA registry;
# the same list arouteserver uses).
INVALID_ASN_RANGES: tuple[tuple[int, int, str], ...] = (
    (0, 0, "RFC 7607 reserved"),
    (23456, 23456, "RFC 6793 AS_TRANS"),
    (64496, 64511, "RFC 5398 documentation"),
    (64512, 65534, "RFC 6996 private use"),
    (65535, 65535, "RFC 7300 reserved"),
    (65536, 65551, "RFC 5398 documentation"),
    (65552, 131071, "IANA reserved"),
    (4200000000, 4294967294, "RFC 6996 private use"),
    (4294967295, 4294967295, "RFC 7300 reserved"),
)

# Bogons: refused together with every more-specific (arouteserver's bogons.yml, plus
# 192.0.0.0/24 as in IXP Manager). Prefixes shorter than the policy minimum are refused
# earlier by the length check, so the default routes need no entry of their own.
BOGONS_V4: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "RFC 1122 this network"),
    ("10.0.0.0/8", "RFC 1918 private use"),
    ("100.64.0.0/10", "RFC 6598 shared address space"),
    ("127.0.0.0/8", "RFC 1122 loopback"),
    ("169.254.0.0/16", "RFC 3927 link local"),
    ("172.16.0.0/12", "RFC 1918 private use"),
    ("192.0.0.0/24", "RFC 6890 IETF protocol assignments"),
    ("192.0.2.0/24", "RFC 5737 TEST-NET-1"),
    ("192.168.0.0/16", "RFC 1918 private use"),
    ("198.18.0.0/15", "RFC 2544 benchmarking"),
    ("198.51.100.0/24", "RFC 5737 TEST-NET-2"),
    ("203.0.113.0/24", "RFC 5737 TEST-NET-3"),
    ("224.0.0.0/3", "RFC 5771 multicast and RFC 1112 class E"),
)
BOGONS_V6: tuple[tuple[str, str], ...] = (
    ("::/8", "RFC 4291 loopback, unspecified, v4-mapped"),
    ("64:ff9b::/96", "RFC 6052 IPv4-IPv6 translation"),
    ("100::/8", "RFC 6666 discard-only"),
    ("200::/7", "RFC 4048 reserved"),
    ("400::/6", "RFC 4291 reserved"),
    ("800::/5", "RFC 4291 reserved"),
    ("1000::/4", "RFC 4291 reserved"),
    ("2001::/33", "RFC 4380 Teredo"),
    ("2001:0:8000::/33", "RFC 4380 Teredo"),
    ("2001:2::/48", "RFC 5180 benchmarking"),
    ("2001:3::/32", "RFC 7450 AMT"),
    ("2001:10::/28", "RFC 4843 ORCHID (deprecated)"),
    ("2001:20::/28", "RFC 7343 ORCHIDv2"),
    ("2001:db8::/32", "RFC 3849 documentation"),
    ("2002::/16", "RFC 3068 6to4"),
    ("3ffe::/16", "RFC 5156 old 6bone"),
    ("4000::/3", "RFC 4291 reserved"),
    ("5f00::/8", "RFC 5156 old 6bone"),
    ("6000::/3", "RFC 4291 reserved"),
    ("8000::/3", "RFC 4291 reserved"),
    ("a000::/3", "RFC 4291 reserved"),
    ("c000::/3", "RFC 4291 reserved"),
    ("e000::/4", "RFC 4291 reserved"),
    ("f000::/5", "RFC 4291 reserved"),
    ("f800::/6", "RFC 4291 reserved"),
    ("fc00::/7", "RFC 4193 unique local"),
    ("fe80::/10", "RFC 4291 link local"),
    ("fec0::/10", "RFC 3879 site local (deprecated)"),
    ("ff00::/8", "RFC 4291 multicast"),
)

IMPORT_LIMIT_ACTIONS = ("warn", "block", "restart", "disable")
RPKI_INVALID_POLICIES = ("reject", "tag")


# ---------------------------------------------------------------------- printable token types


class Token(str):
    """A string that may reach a BIRD file: validated against ``pattern`` when made."""

    pattern: ClassVar[re.Pattern[str]]
    what: ClassVar[str]

    def __new__(cls, value: str) -> Token:
        if not isinstance(value, str) or not cls.pattern.fullmatch(value):
            raise RenderError(f"not a valid {cls.what}: {value!r}")
        return super().__new__(cls, value)


class Symbol(Token):
    """A BIRD symbol (protocol, filter, table name)."""

    pattern = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}", re.ASCII)
    what = "BIRD symbol"


class HexId(Token):
    pattern = re.compile(r"[0-9a-f]{1,64}", re.ASCII)
    what = "lowercase hex ID"


class Hostname(Token):
    """A DNS name (RFC 1123), rendered inside quotes."""

    pattern = re.compile(
        r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*",
        re.ASCII,
    )
    what = "host name"


class ConfigPath(Token):
    """An absolute path, rendered inside quotes: no quotes, spaces, ``.`` or ``..`` parts."""

    pattern = re.compile(r"(/[A-Za-z0-9_][A-Za-z0-9._-]{0,63}){1,16}", re.ASCII)
    what = "absolute path"

    def __new__(cls, value: str) -> ConfigPath:
        token = super().__new__(cls, value)
        if any(part in {".", ".."} for part in token.split("/")):
            raise RenderError(f"not a valid {cls.what}: {value!r}")
        return token  # type: ignore[return-value]


class Comment(Token):
    """Text of our own for a ``#`` comment: no newline, quote or brace."""

    pattern = re.compile(r"[A-Za-z0-9 ,.()/:+-]{1,120}", re.ASCII)
    what = "comment"


class Label(Token):
    """A route-server name (config pattern), used in comments."""

    pattern = re.compile(r"[a-z0-9][a-z0-9-]{0,62}", re.ASCII)
    what = "route-server name"


class Keyword(Token):
    """One of the BIRD keywords the renderer chooses from (import limit actions)."""

    pattern = re.compile("|".join(IMPORT_LIMIT_ACTIONS), re.ASCII)
    what = "import limit action (warn, block, restart, disable)"


# Exact types: a subclass could change how it prints. (Token subclasses are ours.)
_PRINTABLE = frozenset(
    {
        int,
        ipaddress.IPv4Address,
        ipaddress.IPv6Address,
        ipaddress.IPv4Network,
        ipaddress.IPv6Network,
    }
)


def bird_value(value: object) -> object:
    """Jinja ``finalize``: every ``{{ expression }}`` passes here before it is written."""
    if type(value) not in _PRINTABLE and not isinstance(value, Token):
        raise RenderError(
            f"refusing to write a {type(value).__name__} into a BIRD file: {value!r} "
            "(only ints, IP addresses/networks and validated IDs may be rendered)"
        )
    return value


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
    irr_prefixes: Rows | None  # rows of networks, each allowed with its more-specifics
    irr_prefixes_set: Symbol


@dataclass(frozen=True)
class _Peer:
    base: Symbol
    asn: int
    node_id: HexId
    irr_origins: Rows | None  # rows of ASNs
    irr_origins_set: Symbol
    sessions: tuple[_Session, ...]


@dataclass(frozen=True)
class _Named:
    name: Symbol
    value: int


@dataclass(frozen=True)
class _Bogon:
    network: IPNetwork
    comment: Comment


@dataclass(frozen=True)
class _AsnRange:
    low: int
    high: int


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
    return {
        "min_length": {4: v4_min, 6: v6_min},
        "max_length": {4: v4_max, 6: v6_max},
        "max_as_path_length": _int(p.max_as_path_length, "policy max_as_path_length", 1, 255),
        "import_limit_action": Keyword(p.import_limit_action),
        "rpki_reject_invalid": p.rpki_invalid == "reject",
    }


def _irr_prefixes(networks: Iterable[object] | None, version: int, what: str) -> Rows | None:
    """The member's AS-SET prefixes; each is accepted with its more-specifics (the length
    check, which runs first, caps how specific)."""
    if networks is None:
        return None
    return _rows(sorted({_network(n, version, what) for n in networks}), 4)


def _session(
    base: Symbol,
    version: int,
    address: object,
    local: IPAddress,
    lan: IPNetwork,
    limit: object,
    irr: Iterable[object] | None,
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
        irr_prefixes=_irr_prefixes(irr, version, f"{base} IRR prefix"),
        irr_prefixes_set=Symbol(f"ZTIX_IRR_PREFIXES_{base}_v{version}"),
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
            peer.irr_prefixes_ipv4,
        ),
        _session(
            base,
            6,
            peer.ipv6,
            server.ipv6,
            server.ipv6_prefix,
            peer.max_prefix_ipv6,
            peer.irr_prefixes_ipv6,
        ),
    )
    sessions = tuple(s for s in candidates if s is not None)
    if not sessions:
        raise RenderError(f"{base}: the peer has neither an IPv4 nor an IPv6 address")
    return _Peer(
        base=base,
        asn=asn,
        node_id=node_id,
        irr_origins=origins,
        irr_origins_set=Symbol(f"ZTIX_IRR_ORIGINS_{base}"),
        sessions=sessions,
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
    return {
        "name": Label(server.name),
        "asn": asn,
        "asn_is_16bit": asn <= 65535,
        "ipv4": ipv4,
        "ipv6": ipv6,
        "lan4": lan4,
        "lan6": lan6,
        "config_dir": ConfigPath(server.config_dir.rstrip("/")),
        "peers_dir": ConfigPath(f"{server.config_dir.rstrip('/')}/{PEERS_DIR}"),
        "main_path": ConfigPath(f"{server.config_dir.rstrip('/')}/{MAIN_FILE}"),
        "validators": tuple(sorted(validators, key=lambda v: v.protocol)),
        "never_via_route_servers": _rows(never, 10),
    }


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
        "invalid_asns": tuple(_AsnRange(low, high) for low, high, _ in INVALID_ASN_RANGES),
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


def peer_protocols(peer: Peer) -> tuple[str, ...]:
    """The BGP protocol names a peer gets: ``AS<asn>_<node>_v4`` / ``_v6`` per address family."""
    names = []
    if peer.ipv4 is not None:
        names.append(f"{peer.protocol_base}_v4")
    if peer.ipv6 is not None:
        names.append(f"{peer.protocol_base}_v6")
    return tuple(names)


def rpki_protocols(server: RouteServer) -> tuple[str, ...]:
    """The RTR protocol names ztix.conf defines, one per validator."""
    return tuple(sorted(f"ztix_rpki_{v.name}" for v in server.validators))


def peer_file(peer: Peer) -> str:
    """The relative path of a peer's file."""
    return f"{PEERS_DIR}/{peer.protocol_base}.conf"


def render(desired: DesiredConfig) -> dict[str, str]:
    """Turn the desired state into ``{relative path: file text}``, sorted by path."""
    server = _server(desired.server)
    policy = _policy(desired.server.policy)
    peers = sorted(
        (_peer(p, desired.server) for p in desired.peers), key=lambda p: (p.asn, p.node_id)
    )
    seen: set[str] = set()
    for p in peers:
        if p.base in seen:
            raise RenderError(f"two peers render to the same protocol {p.base}")
        seen.add(p.base)
    context = {"server": server, "policy": policy, **_constants()}
    env = _environment()
    files = {
        MAIN_FILE: env.get_template("main.j2").render(context),
        # Always there, so peers/ exists and its glob matches even with no member: BIRD
        # 2.0.12 refuses `include "peers/*.conf"` when the directory is missing.
        PEERS_PLACEHOLDER: "# The route server's clients: one file per member router.\n",
    }
    peer_template = env.get_template("peer.j2")
    for p in peers:
        files[f"{PEERS_DIR}/{p.base}.conf"] = peer_template.render(context, peer=p)
    return dict(sorted(files.items()))


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


class RenderCache:
    """The last rendering of each route server, kept while its desired state stays equal.

    Rendering 2,000 peers takes about 0.4 s; comparing two desired states about 7 ms. The
    reconciler asks every pass whether each server is behind, so on an IX where nothing
    changed that question costs a comparison, not a render. Rendering depends only on the
    desired state (templates and constants are fixed for the process), so an equal state
    has the same files.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, tuple[DesiredConfig, dict[str, str], str]] = {}

    def rendered(self, key: str, desired: DesiredConfig) -> tuple[dict[str, str], str]:
        """``(files, desired hash)`` for ``desired``; ``key`` names the route server."""
        with self._lock:
            last = self._last.get(key)
        if last is not None and last[0] == desired:
            return dict(last[1]), last[2]
        files = render(desired)  # RenderError propagates; nothing is remembered
        digest = render_hash(files)
        with self._lock:
            self._last[key] = (desired, files, digest)
        return dict(files), digest


# One per process: route-server sync rounds and the reconciler share it.
render_cache = RenderCache()
