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

IPv4 = ipaddress.IPv4Address
IPv6 = ipaddress.IPv6Address


class AddressPlanExhausted(Exception):
    """No address is left in the plan."""


def ipv4_hosts(prefix: ipaddress.IPv4Network, reserved: Iterable[IPv4] = ()) -> Iterator[IPv4]:
    """Host addresses of ``prefix`` in ascending order, reserved ones left out."""
    skip = set(reserved)
    for host in prefix.hosts():  # hosts() already leaves out network and broadcast
        if host not in skip:
            yield host


def lowest_free_ipv4(
    prefix: ipaddress.IPv4Network, taken: Iterable[IPv4], reserved: Iterable[IPv4] = ()
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
    prefix: ipaddress.IPv6Network, asn: int, taken: Iterable[IPv6], reserved: Iterable[IPv6] = ()
) -> IPv6:
    used = set(taken) | set(reserved)
    for index in range(1, 0x10000):
        candidate = ipv6_for(prefix, asn, index)
        if candidate not in used:
            return candidate
    raise AddressPlanExhausted(f"AS{asn} has used every IPv6 node number in {prefix}")
