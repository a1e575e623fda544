"""The Networks page's address usage (issue 18): overlapping reserved blocks count once,
blocks are clipped to the usable addresses, a reserved address a member holds counts as used."""

from __future__ import annotations

import ipaddress

from ztix.domain.addressing import AddressRange, AddressUsage, address_usage

V4 = ipaddress.IPv4Network("192.0.2.0/24")
V6 = ipaddress.IPv6Network("2001:db8:ab::/64")
ip = ipaddress.ip_address


def test_an_empty_prefix() -> None:
    assert address_usage(V4, [], []) == AddressUsage(total=254, reserved=0, used=0, free=254)
    assert address_usage(V6, [], []).total == 2**64 - 1


def test_overlaps_count_once_and_blocks_are_clipped() -> None:
    reserved = [
        AddressRange.parse("192.0.2.0/29"),  # .0 is the network address: .1-.7 count
        AddressRange.parse("192.0.2.5-192.0.2.9"),
        ip("192.0.2.9"),
        ip("192.0.2.255"),  # broadcast: not usable anyway
        AddressRange.parse("2001:db8:ab::/120"),  # the other family
    ]
    usage = address_usage(V4, reserved, [ip("192.0.2.10"), ip("192.0.2.10"), ip("198.51.100.1")])
    assert usage == AddressUsage(total=254, reserved=9, used=1, free=244)


def test_a_reserved_address_held_by_a_member_counts_as_used() -> None:
    usage = address_usage(V6, [AddressRange.parse("2001:db8:ab::/120")], [ip("2001:db8:ab::5")])
    assert (usage.reserved, usage.used, usage.free) == (254, 1, 2**64 - 1 - 255)
