"""DESIGN §3 address plans: pure functions."""

from __future__ import annotations

import ipaddress

import pytest

from ztix.domain.addressing import (
    AddressPlanExhausted,
    asn_groups,
    ipv6_for,
    lowest_free_ipv4,
    lowest_free_ipv6,
)

V4 = ipaddress.IPv4Network("192.0.2.0/24")
V6 = ipaddress.IPv6Network("2001:db8:ab::/64")
A = ipaddress.ip_address


def test_design_example() -> None:
    assert ipv6_for(V6, 213035, 1) == A("2001:db8:ab::21:3035:1")
    assert ipv6_for(V6, 213035, 2) == A("2001:db8:ab::21:3035:2")


@pytest.mark.parametrize(
    ("asn", "groups"),
    [(1, [0x1]), (13335, [0x1, 0x3335]), (4294967294, [0x42, 0x9496, 0x7294]), (9999, [0x9999])],
)
def test_asn_groups(asn: int, groups: list[int]) -> None:
    assert asn_groups(asn) == groups


def test_largest_asn_fits_a_64() -> None:
    assert ipv6_for(V6, 4294967294, 1) == A("2001:db8:ab:0:42:9496:7294:1")


def test_too_small_prefix() -> None:
    with pytest.raises(AddressPlanExhausted):
        ipv6_for(ipaddress.IPv6Network("2001:db8::/96"), 4294967294, 1)


def test_ipv4_lowest_free_skips_reserved_and_taken() -> None:
    reserved = [A("192.0.2.1"), A("192.0.2.2")]
    assert lowest_free_ipv4(V4, [], reserved) == A("192.0.2.3")
    assert lowest_free_ipv4(V4, [A("192.0.2.3"), A("192.0.2.5")], reserved) == A("192.0.2.4")


def test_ipv4_never_network_or_broadcast_and_exhaustion() -> None:
    tiny = ipaddress.IPv4Network("192.0.2.0/30")
    assert lowest_free_ipv4(tiny, []) == A("192.0.2.1")
    assert lowest_free_ipv4(tiny, [A("192.0.2.1")]) == A("192.0.2.2")
    with pytest.raises(AddressPlanExhausted):
        lowest_free_ipv4(tiny, [A("192.0.2.1"), A("192.0.2.2")])


def test_ipv6_numbers_nodes_of_one_asn() -> None:
    first = ipv6_for(V6, 213035, 1)
    assert lowest_free_ipv6(V6, 213035, []) == first
    assert lowest_free_ipv6(V6, 213035, [first]) == A("2001:db8:ab::21:3035:2")
    # Released numbers are reused, lowest first.
    assert lowest_free_ipv6(V6, 213035, [A("2001:db8:ab::21:3035:2")]) == first
