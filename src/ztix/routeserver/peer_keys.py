"""Keys for the peers of a desired state, cheap to build and compare (the render cache's).

``ipaddress`` objects hash and compare in Python code: comparing or hashing two desired
states' ``Peer`` objects costs about 1 s at 2,000 members with realistic IRR data (90,000
networks), their keys a few tens of milliseconds. A key is equal for two peers exactly when
the peers are equal, so a file rendered for one is the other's too.

Every pass builds the keys of every member (a desired state is built afresh from the
database each time), so building them is most of what a pass costs when one member joins:
a key is one flat tuple per peer (few objects for the garbage collector to count) and is
only ever compared, never hashed: the cache finds a peer's last key by its request ID.

A member's IRR network lists are the same tuples from one pass to the next while its
stored data is unchanged (the desired state's IRR cache, ``workflow.routeserver_desired``),
so their key parts are remembered by the lists' identity (:data:`NetworkParts`, the last
pass's, kept by the render cache per server): an unchanged member's key holds the very same
part objects as last pass, and comparing the two keys short-cuts on identity (a tuple
compares its items with ``is`` first) instead of building and comparing them again.
"""

from __future__ import annotations

import ipaddress
import itertools
import operator
import threading
from array import array
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from ztix.domain.routeserver import Peer
from ztix.routeserver.peer_groups import PeerFile

# What a peer's file is rendered from, cheap to compare (see peer_key); a peer whose fields
# cannot be keyed is its own key.
PeerKey = tuple[Any, ...] | Peer
# Per request ID, the key a peer's text was rendered from and that text.
Known = Mapping[str, tuple[PeerKey, PeerFile]]

_ADDRESS = operator.attrgetter("_ip")
_NETWORK_ADDRESS = operator.attrgetter("network_address._ip")
_NETWORK_LENGTH = operator.attrgetter("_prefixlen")


def _types(items: tuple[Any, ...]) -> frozenset[type]:
    """The types of a list's items; the usual sets are one shared object (the one built here
    is dropped at once: nothing more for the garbage collector to count)."""
    found = frozenset(map(type, items))
    return _USUAL_TYPES.get(found, found)


_USUAL_TYPES: dict[frozenset[type], frozenset[type]] = {
    types: types
    for types in (
        frozenset(),
        frozenset({ipaddress.IPv4Network}),
        frozenset({ipaddress.IPv6Network}),
    )
}


def _addresses128(networks: tuple[Any, ...]) -> bytes:
    """IPv6 network addresses as 16 bytes each (too wide for an array's ints)."""
    return b"".join(map(int.to_bytes, map(_NETWORK_ADDRESS, networks), _16, _BIG))


_16 = itertools.repeat(16)
_BIG: itertools.repeat[Literal["big"]] = itertools.repeat("big")


# Per network list, by identity (``id``): the list itself (held, so that no other object
# can take its id meanwhile) and its key parts (types, addresses, lengths).
NetworkParts = dict[int, tuple[tuple[Any, ...], frozenset[type], Any, bytes]]


def _network_parts(
    networks: tuple[Any, ...],
    addresses: Callable[[tuple[Any, ...]], Any],
    known: NetworkParts,
    found: NetworkParts | None,
) -> tuple[tuple[Any, ...], frozenset[type], Any, bytes]:
    """A network list's key parts: ``known``'s when it holds this very list, else built;
    recorded in ``found`` (the next pass's ``known``)."""
    parts = known.get(id(networks))
    if parts is None or parts[0] is not networks:
        parts = (
            networks,
            _types(networks),
            addresses(networks),
            bytes(map(_NETWORK_LENGTH, networks)),
        )
    if found is not None:
        found[id(networks)] = parts
    return parts


def _addresses32(networks: tuple[Any, ...]) -> array[int]:
    """IPv4 network addresses as an array of machine ints (compared like bytes)."""
    return array("L", map(_NETWORK_ADDRESS, networks))


_NOTHING_KNOWN: NetworkParts = {}


def _roas_key(roas: Iterable[tuple[int, object]]) -> tuple[Any, ...]:
    """Covering ROAs, (origin ASN, network) pairs, as their ASNs and their networks' types,
    addresses and lengths; none (the usual case) as ``()``, which no pair list keys to."""
    if roas == ():
        return ()
    pairs = tuple(roas)
    networks = tuple(network for _, network in pairs)
    return (
        tuple(asn for asn, _ in pairs),
        frozenset(map(type, networks)),
        tuple(map(_NETWORK_ADDRESS, networks)),
        tuple(map(_NETWORK_LENGTH, networks)),
    )


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


def peer_key(
    peer: Peer, known: NetworkParts = _NOTHING_KNOWN, found: NetworkParts | None = None
) -> PeerKey:
    """A key equal for two peers exactly when they are equal (then their files are equal),
    without the cost of comparing their IRR networks (their own ``__eq__`` is Python code):
    an address is its type and int; a network list its types, its addresses (IPv4: an
    array of machine ints, compared like bytes; IPv6: 16 bytes each) and its lengths (a
    bytes object), read with C-level attribute reads and held in objects the garbage
    collector never walks. The types are part of the key, so an interface or a subclass
    never shares a network's key (render() refuses those). The fields are laid out flat,
    every one at a fixed place, None where the peer has none. The peer itself when its
    fields are not what a Peer holds (render() refuses it, or renders it as before).

    ``known``: the last pass's parts of network lists, by identity (the same list has the
    same parts); ``found`` receives this peer's."""
    try:
        v4, v6, origins = peer.ipv4, peer.ipv6, peer.irr_origins
        nets4, nets6 = peer.irr_prefixes_ipv4, peer.irr_prefixes_ipv6
        if nets4 is not None and type(nets4) is not tuple:
            nets4 = tuple(nets4)
        if nets6 is not None and type(nets6) is not tuple:
            nets6 = tuple(nets6)
        parts4 = _NO_PARTS if nets4 is None else _network_parts(nets4, _addresses32, known, found)
        parts6 = _NO_PARTS if nets6 is None else _network_parts(nets6, _addresses128, known, found)
        return (
            peer.request_id,
            peer.asn,
            peer.node_id,
            None if v4 is None else type(v4),
            None if v4 is None else _ADDRESS(v4),
            None if v6 is None else type(v6),
            None if v6 is None else _ADDRESS(v6),
            peer.max_prefix_ipv4,
            peer.max_prefix_ipv6,
            parts4[1],
            parts4[2],
            parts4[3],
            parts6[1],
            parts6[2],
            parts6[3],
            # A tuple is its own tuple(): the same origins are the same key part.
            None if origins is None else tuple(origins),
            peer.description,
            peer.receive_limit_ipv4,
            peer.receive_limit_ipv6,
            peer.password,
            _roas_key(peer.blackhole_roas_ipv4),
            _roas_key(peer.blackhole_roas_ipv6),
        )
    except (AttributeError, TypeError, ValueError, OverflowError):
        return peer


# No network list (None): None in each of its three key places.
_NO_PARTS: tuple[Any, ...] = (None, None, None, None)


def key_id(key: PeerKey) -> str | None:
    """The request ID a key was built from (the cache's index), None for a peer that is its
    own key (never reused)."""
    if type(key) is tuple and type(key[0]) is str:
        return key[0]
    return None


_keyed = threading.local()


def peer_keys(
    peers: tuple[Peer, ...], known: NetworkParts = _NOTHING_KNOWN, found: NetworkParts | None = None
) -> tuple[PeerKey, ...]:
    """Every peer's key (``known`` and ``found``: see :func:`peer_key`); the last answer is
    kept per thread, as the render cache and the renderer ask for the same tuple one after
    the other, until :func:`forget_keys`."""
    last = getattr(_keyed, "last", None)
    if last is not None and last[0] is peers:
        keys: tuple[PeerKey, ...] = last[1]
        return keys
    keys = tuple(peer_key(peer, known, found) for peer in peers)
    _keyed.last = (peers, keys)
    return keys


def forget_keys() -> None:
    """Drop this thread's last answer. Kept, it held the last desired state's peers until
    the next pass: their IRR networks (hundreds of thousands of objects at 2,000 members),
    which the garbage collector then walked twice in every full collection of that pass."""
    _keyed.last = None


def reuse_or_render(
    peers: tuple[Peer, ...], known: Known, render_peer: Callable[[Peer], PeerFile]
) -> tuple[list[PeerFile], dict[str, tuple[PeerKey, PeerFile]]]:
    """Every peer's text: ``known``'s when its key there is equal (found by request ID),
    else ``render_peer``'s; an equal peer given twice is one peer. Also every peer's key
    and text by request ID, the next call's ``known``."""
    rendered: dict[str, tuple[PeerKey, PeerFile]] = {}
    unkeyed: list[PeerKey] = []
    texts: list[PeerFile] = []
    for peer, key in zip(peers, peer_keys(peers), strict=True):
        request_id = key_id(key)
        if request_id is None:
            if key in unkeyed:
                continue
            unkeyed.append(key)
            last = None
        else:
            last = rendered.get(request_id)
            if last is not None and last[0] == key:
                continue
            last = known.get(request_id)
        done = last[1] if last is not None and last[0] == key else render_peer(peer)
        if request_id is not None:
            rendered[request_id] = (key, done)
        texts.append(done)
    return texts, rendered


def same_keys(old: tuple[PeerKey, ...], new: tuple[PeerKey, ...]) -> bool:
    """Whether two passes' keys are equal, the lengths first (a tuple compares its items
    before its length: 2,000 keys compared to learn that one more member joined)."""
    return old is new or (len(old) == len(new) and old == new)
