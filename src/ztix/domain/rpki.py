"""RPKI ROAs (validated ROA payloads) as plain values, and which of them entitle a member to
blackhole more-specifics (RFC 7999) of the prefixes they cover.

The route server checks blackholes in BIRD, whose filter language cannot build a covering
prefix to ``roa_check()`` (docs/route-servers.md, "Blackholes under a covering ROA"): the
control plane reads the same ROAs the RTR validator serves (``ztix.rpki.vrp``) and hands each
member session the ROA prefixes of its own origins, which the template turns into
``prefix{len,32}`` sets.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Roa:
    prefix: Network
    max_length: int
    asn: int


def by_asn(roas: Iterable[Roa]) -> dict[int, tuple[Roa, ...]]:
    """ROAs grouped by ASN (built once per file: hundreds of thousands of ROAs, read for
    every member)."""
    grouped: dict[int, list[Roa]] = {}
    for roa in roas:
        grouped.setdefault(roa.asn, []).append(roa)
    return {asn: tuple(group) for asn, group in grouped.items()}


def blackhole_roas(
    roas_by_asn: Mapping[int, Iterable[Roa]], asn: int, origins: Iterable[int] | None, version: int
) -> tuple[tuple[int, Network], ...]:
    """The ``(origin ASN, ROA prefix)`` pairs that entitle a member to blackhole any
    more-specific of the prefix when its route's origin is that ASN: ROAs of the member's
    ASN or of its IRR origins (when it has IRR data), of address family ``version``.
    Sorted and without duplicates (a ROA's maxLength does not matter here)."""
    pairs = {
        (r.asn, r.prefix)
        for origin in {asn, *(origins or ())}
        for r in roas_by_asn.get(origin, ())
        if r.prefix.version == version
    }
    return tuple(sorted(pairs, key=lambda p: (p[0], int(p[1].network_address), p[1].prefixlen)))
