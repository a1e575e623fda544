"""Keys for the peers of a desired state, cheap to compare and hash (the render cache's).

``ipaddress`` objects hash and compare in Python code: comparing or hashing two desired
states' ``Peer`` objects costs about 1 s at 2,000 members with realistic IRR data (90,000
networks), their keys a few tens of milliseconds. A key is equal for two peers exactly when
the peers are equal, so a file rendered for one is the other's too.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Iterable
from typing import Any

from ztix.domain.routeserver import Peer

# What a peer's file is rendered from, cheap to compare and hash (see peer_key); a peer
# whose fields cannot be keyed is its own key.
PeerKey = tuple[Any, ...] | Peer

_ADDRESS = operator.attrgetter("_ip")
_NETWORK_ADDRESS = operator.attrgetter("network_address._ip")
_NETWORK_LENGTH = operator.attrgetter("_prefixlen")


def _networks_key(networks: Iterable[object] | None) -> tuple[Any, ...] | None:
    """A network list as plain ints: the networks' own ``__hash__`` and ``__eq__`` are
    Python code and cost about 1 s per 2,000 members with realistic IRR data; these are
    C-level attribute reads. The types are part of the key, so an address or interface
    never shares a network's key (render() refuses those)."""
    if networks is None:
        return None
    items = tuple(networks)
    return (
        frozenset(map(type, items)),
        tuple(map(_NETWORK_ADDRESS, items)),
        tuple(map(_NETWORK_LENGTH, items)),
    )


def _roas_key(roas: Iterable[tuple[int, object]]) -> tuple[Any, ...]:
    """Covering ROAs, (origin ASN, network) pairs, as their ASNs and their networks' key."""
    pairs = tuple(roas)
    return (tuple(asn for asn, _ in pairs), _networks_key(network for _, network in pairs))


def _address_key(address: object) -> tuple[Any, ...] | None:
    """An address as its type and int (its own ``__hash__`` and ``__eq__`` are Python)."""
    return None if address is None else (type(address), _ADDRESS(address))


# Every field of Peer, in the order peer_key keys them (a test keeps this complete).
PEER_KEY_FIELDS = (
    "request_id",
    "asn",
    "node_id",
    "ipv4",
    "ipv6",
    "max_prefix_ipv4",
    "max_prefix_ipv6",
    "irr_prefixes_ipv4",
    "irr_prefixes_ipv6",
    "irr_origins",
    "description",
    "receive_limit_ipv4",
    "receive_limit_ipv6",
    "password",
    "blackhole_roas_ipv4",
    "blackhole_roas_ipv6",
)


def peer_key(peer: Peer) -> PeerKey:
    """A key equal for two peers exactly when they are equal (then their files are equal),
    without the cost of comparing or hashing their IRR networks; the peer itself when its
    fields are not what a Peer holds (render() refuses it, or renders it as before)."""
    try:
        key = (
            peer.request_id,
            peer.asn,
            peer.node_id,
            _address_key(peer.ipv4),
            _address_key(peer.ipv6),
            peer.max_prefix_ipv4,
            peer.max_prefix_ipv6,
            _networks_key(peer.irr_prefixes_ipv4),
            _networks_key(peer.irr_prefixes_ipv6),
            None if peer.irr_origins is None else tuple(peer.irr_origins),
            peer.description,
            peer.receive_limit_ipv4,
            peer.receive_limit_ipv6,
            peer.password,
            _roas_key(peer.blackhole_roas_ipv4),
            _roas_key(peer.blackhole_roas_ipv6),
        )
        hash(key)
    except (AttributeError, TypeError):
        return peer
    return key


_keyed = threading.local()


def peer_keys(peers: tuple[Peer, ...]) -> tuple[PeerKey, ...]:
    """Every peer's key; the last answer is kept per thread, as the render cache and the
    renderer ask for the same tuple one after the other."""
    last = getattr(_keyed, "last", None)
    if last is not None and last[0] is peers:
        keys: tuple[PeerKey, ...] = last[1]
        return keys
    keys = tuple(map(peer_key, peers))
    _keyed.last = (peers, keys)
    return keys
