"""The desired state of one route server: what the renderer turns into BIRD files.

Built by ``workflow.routeserver_desired`` from the database and config; every field is already
validated (integers, parsed addresses, hex IDs): nothing a user typed reaches BIRD as text.
Plain values, below both the use cases and the route-server adapter (``routeserver/``), which
renders and applies them; ``routeserver.model`` names the same classes.
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RpkiValidator:
    name: str  # [a-z0-9_], used in protocol names
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | str  # IP or a DNS name
    port: int
    refresh_seconds: int = 300
    retry_seconds: int = 90
    expire_seconds: int = 7200


@dataclass(frozen=True)
class Policy:
    ipv4_min_length: int = 8
    ipv4_max_length: int = 24
    ipv6_min_length: int = 12
    ipv6_max_length: int = 48
    max_as_path_length: int = 32
    import_limit_action: str = "restart"  # warn | block | restart | disable
    receive_limit_action: str = "restart"  # warn | block | restart | disable
    rpki_invalid: str = "reject"  # reject | tag
    irr_prefix: str = "reject"  # reject | tag
    irr_origin: str = "reject"  # reject | tag
    rpki_valid_is_irr_valid: bool = True  # an RPKI-valid route passes the IRR checks
    irr_more_specifics: bool = True  # route objects' more-specifics up to the max lengths


@dataclass(frozen=True)
class Blackholing:
    """RFC 7999 blackholing on the network: off, or on with optional next hops on the
    peering LAN (no member's address) that routes tagged BLACKHOLE are rewritten to."""

    enabled: bool = False
    next_hop_ipv4: ipaddress.IPv4Address | None = None
    next_hop_ipv6: ipaddress.IPv6Address | None = None


@dataclass(frozen=True)
class Peer:
    """One member router (one active join request) as a route-server client."""

    request_id: str  # UUID text; names the peer's file
    asn: int
    node_id: str  # 10 hex
    ipv4: ipaddress.IPv4Address | None
    ipv6: ipaddress.IPv6Address | None
    max_prefix_ipv4: int
    max_prefix_ipv6: int
    # IRR data from the member's AS-SET, when known: the prefixes and origin ASNs it allows.
    irr_prefixes_ipv4: tuple[ipaddress.IPv4Network, ...] | None = None
    irr_prefixes_ipv6: tuple[ipaddress.IPv6Network, ...] | None = None
    irr_origins: tuple[int, ...] | None = None
    # Blackhole entitlement by covering ROAs (domain.rpki.blackhole_roas): (origin ASN, ROA
    # prefix) pairs; a BLACKHOLE route inside the prefix with that origin is entitled.
    blackhole_roas_ipv4: tuple[tuple[int, ipaddress.IPv4Network], ...] = ()
    blackhole_roas_ipv6: tuple[tuple[int, ipaddress.IPv6Network], ...] = ()
    description: str = ""  # e.g. "AS213035 abcdef0123"; rendered only from validated parts
    # Receive limits (routes received before filtering); None: no receive limit.
    receive_limit_ipv4: int | None = None
    receive_limit_ipv6: int | None = None
    # The member's TCP MD5 session password (already decrypted), or None.
    password: str | None = field(default=None, repr=False)

    @property
    def protocol_base(self) -> str:
        """A stable BIRD protocol name stem, unique per peer: AS<asn>_<node>."""
        return protocol_base(self.asn, self.node_id)


def protocol_base(asn: int, node_id: str) -> str:
    """The BIRD protocol name stem of a member's sessions: AS<asn>_<node>."""
    return f"AS{asn}_{node_id}"


@dataclass(frozen=True)
class RouteServer:
    name: str
    asn: int
    router_id: ipaddress.IPv4Address
    ipv4: ipaddress.IPv4Address
    ipv6: ipaddress.IPv6Address
    ipv4_prefix: ipaddress.IPv4Network  # the peering LAN
    ipv6_prefix: ipaddress.IPv6Network
    config_dir: str  # where ztix.conf and peers/ live on the server
    validators: tuple[RpkiValidator, ...] = ()
    policy: Policy = field(default_factory=Policy)
    # ASNs PeeringDB lists as info_never_via_route_servers: refused anywhere in a path.
    never_via_route_servers: tuple[int, ...] = ()
    # The port the BGP sessions listen on (`local ... port`); 179 is left unsaid.
    bgp_port: int = 179
    # Maintenance (RFC 8326): the server adds GRACEFUL_SHUTDOWN to every route it exports.
    drained: bool = False
    blackholing: Blackholing = field(default_factory=lambda: Blackholing())
    # The directory of the host's bird.conf: when set, the include lines are relative to it
    # (and ztix.conf's to config_dir); None: absolute paths.
    include_base: str | None = None


@dataclass(frozen=True)
class DesiredConfig:
    server: RouteServer
    peers: tuple[Peer, ...]


# Per thread, the last set hashed: its paths, its texts (the very same objects) and the
# digest's state after each file. A sync pass hashes one set three times (render cache,
# apply, manifest), 4 MB at 2,000 members: the same string objects in the same order are
# the same set. The next set (one member joined: one group file changed) is hashed on
# from the state before its first changed file, not from the start.
_last_hashed = threading.local()


def files_hash(files: Mapping[str, str]) -> str:
    """The digest of a file set (64 hex): sha256 over the sorted paths and contents, each
    length-prefixed. The renderer's "desired hash" and the applier's "applied hash" are both
    this, so the two can be compared."""
    paths = sorted(files)
    texts = [files[path] for path in paths]
    last = getattr(_last_hashed, "value", None)
    same = 0  # how many leading files are the last set's, path and text object
    if last is not None:
        last_paths, last_texts, states = last
        for path, text, last_path, last_text in zip(
            paths, texts, last_paths, last_texts, strict=False
        ):
            if path != last_path or text is not last_text:
                break
            same += 1
        if same == len(paths) == len(last_paths):
            known: str = states[-1].hexdigest() if states else hashlib.sha256().hexdigest()
            return known
    else:
        states = []
    kept = states[:same]
    digest = kept[-1].copy() if kept else hashlib.sha256()
    for path, text in zip(paths[same:], texts[same:], strict=True):
        name, body = path.encode(), text.encode()
        digest.update(b"%d:%s\0%d:%s\0" % (len(name), name, len(body), body))
        kept.append(digest.copy())
    _last_hashed.value = (paths, texts, kept)
    return digest.hexdigest()


def peer_protocols(peer: Peer) -> tuple[str, ...]:
    """The BGP protocol names a peer gets: ``AS<asn>_<node>_v4`` / ``_v6`` per address family."""
    names = []
    if peer.ipv4 is not None:
        names.append(f"{peer.protocol_base}_v4")
    if peer.ipv6 is not None:
        names.append(f"{peer.protocol_base}_v6")
    return tuple(names)
