"""Peering-LAN address plans (DESIGN §3). Pure: the database guards uniqueness.

IPv4: the lowest free host address of the prefix, skipping the network and broadcast
addresses and every reserved one (route servers, gateways the IX keeps).

IPv6: the ASN is embedded, its decimal digits written as hex groups, the last group
numbering the nodes of that ASN: AS213035 in 2001:db8:ab::/64 → 2001:db8:ab::21:3035:1,
then ...:3035:2 for the same ASN's second router.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

IPv4 = ipaddress.IPv4Address
IPv6 = ipaddress.IPv6Address
IPAddress = IPv4 | IPv6


@dataclass(frozen=True)
class AddressRange:
    """A block of addresses the IX keeps for itself: one address (``192.0.2.5``), a range
    (``192.0.2.2-192.0.2.9``, both ends included) or a prefix (``2001:db8:ab::/120``)."""

    first: IPAddress
    last: IPAddress

    @classmethod
    def parse(cls, text: str) -> AddressRange:
        """Raise ValueError with a sentence when ``text`` is none of the three forms."""
        text = text.strip()
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
            return cls(net.network_address, net.broadcast_address)
        if "-" in text:
            low, _, high = text.partition("-")
            first, last = ipaddress.ip_address(low.strip()), ipaddress.ip_address(high.strip())
            if first.version != last.version:
                raise ValueError(f"{text}: both ends of a range must be IPv4 or IPv6")
            if int(last) < int(first):
                raise ValueError(f"{text}: the range ends before it starts")
            return cls(first, last)
        address = ipaddress.ip_address(text)
        return cls(address, address)

    @property
    def version(self) -> int:
        return self.first.version

    @property
    def size(self) -> int:
        return int(self.last) - int(self.first) + 1

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, IPv4 | IPv6) or address.version != self.version:
            return False
        return int(self.first) <= int(address) <= int(self.last)

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


Reserved = Iterable[IPAddress | AddressRange]


def _is_reserved(address: IPAddress, single: set[IPAddress], ranges: list[AddressRange]) -> bool:
    return address in single or any(address in r for r in ranges)


def _split(reserved: Reserved) -> tuple[set[IPAddress], list[AddressRange]]:
    single: set[IPAddress] = set()
    ranges: list[AddressRange] = []
    for item in reserved:
        if isinstance(item, AddressRange):
            ranges.append(item)
        else:
            single.add(item)
    return single, ranges


class AddressPlanExhausted(Exception):
    """No address is left in the plan."""


def ipv4_hosts(prefix: ipaddress.IPv4Network, reserved: Reserved = ()) -> Iterator[IPv4]:
    """Host addresses of ``prefix`` in ascending order, reserved ones left out."""
    single, ranges = _split(reserved)
    for host in prefix.hosts():  # hosts() already leaves out network and broadcast
        if not _is_reserved(host, single, ranges):
            yield host


def lowest_free_ipv4(
    prefix: ipaddress.IPv4Network, taken: Iterable[IPv4], reserved: Reserved = ()
) -> IPv4:
    used = set(taken)
    for host in ipv4_hosts(prefix, reserved):
        if host not in used:
            return host
    raise AddressPlanExhausted(f"no free IPv4 address left in {prefix}")


def asn_groups(asn: int) -> list[int]:
    """The ASN's decimal digits as 16-bit groups: 213035 → [0x21, 0x3035]."""
    digits = str(asn)
    groups: list[int] = []
    while digits:
        digits, chunk = digits[:-4], digits[-4:]
        groups.insert(0, int(chunk, 16))
    return groups


def ipv6_for(prefix: ipaddress.IPv6Network, asn: int, node_index: int) -> IPv6:
    """The ASN-embedded address of the ``node_index``-th router (from 1) of ``asn``."""
    if not 1 <= node_index <= 0xFFFF:
        raise AddressPlanExhausted(f"AS{asn} has no IPv6 node number {node_index} left")
    groups = [*asn_groups(asn), node_index]
    host_bits = 128 - prefix.prefixlen
    if len(groups) * 16 > host_bits:
        raise AddressPlanExhausted(f"{prefix} is too small to embed AS{asn}")
    value = 0
    for group in groups:
        value = (value << 16) | group
    return IPv6(int(prefix.network_address) | value)


def lowest_free_ipv6(
    prefix: ipaddress.IPv6Network, asn: int, taken: Iterable[IPv6], reserved: Reserved = ()
) -> IPv6:
    used = set(taken)
    single, ranges = _split(reserved)
    for index in range(1, 0x10000):
        candidate = ipv6_for(prefix, asn, index)
        if candidate not in used and not _is_reserved(candidate, single, ranges):
            return candidate
    raise AddressPlanExhausted(f"AS{asn} has used every IPv6 node number in {prefix}")


@dataclass(frozen=True)
class AddressUsage:
    """How a peering prefix is used: ``total`` addresses a member could ever be given,
    ``reserved`` of them kept by the IX, ``used`` held by members and ``free`` left."""

    total: int
    reserved: int
    used: int
    free: int


def _covered(spans: Iterable[tuple[int, int]]) -> int:
    """How many integers the closed spans cover, overlaps counted once."""
    count, end = 0, -1
    for low, high in sorted(spans):
        if high <= end:
            continue
        count += high - max(low, end + 1) + 1
        end = high
    return count


def address_usage(
    prefix: ipaddress.IPv4Network | ipaddress.IPv6Network,
    reserved: Reserved,
    used: Iterable[IPAddress],
) -> AddressUsage:
    """The usage of ``prefix``: IPv4 counts its host addresses (no network or broadcast
    address), IPv6 every address but the subnet-router anycast one (the network address).
    Reserved blocks are clipped to the prefix; an address both reserved and used counts as
    used, once."""
    low = int(prefix.network_address) + 1
    high = int(prefix.broadcast_address) - (1 if prefix.version == 4 else 0)
    blocks = [
        item if isinstance(item, AddressRange) else AddressRange(item, item) for item in reserved
    ]
    reserved_spans = [
        (max(int(b.first), low), min(int(b.last), high))
        for b in blocks
        if b.version == prefix.version and int(b.first) <= high and int(b.last) >= low
    ]
    held = {int(a) for a in used if a.version == prefix.version and low <= int(a) <= high}
    taken = _covered([*reserved_spans, *((a, a) for a in held)])
    total = high - low + 1
    used_count = len(held)
    return AddressUsage(
        total=total, reserved=taken - used_count, used=used_count, free=total - taken
    )
