"""reserved_addresses as addresses, ranges and prefixes (issue 18): parsing, and the
address plans skipping them."""

from __future__ import annotations

import ipaddress

import pytest

from ztix.domain.addressing import AddressRange, lowest_free_ipv4, lowest_free_ipv6

V4 = ipaddress.IPv4Network("192.0.2.0/24")
V6 = ipaddress.IPv6Network("2001:db8:ab::/64")


@pytest.mark.parametrize(
    ("text", "first", "last", "size"),
    [
        ("192.0.2.5", "192.0.2.5", "192.0.2.5", 1),
        (" 192.0.2.2 - 192.0.2.9 ", "192.0.2.2", "192.0.2.9", 8),
        ("192.0.2.0/29", "192.0.2.0", "192.0.2.7", 8),
        ("2001:db8:ab::/120", "2001:db8:ab::", "2001:db8:ab::ff", 256),
        ("2001:db8:ab::1-2001:db8:ab::3", "2001:db8:ab::1", "2001:db8:ab::3", 3),
    ],
)
def test_the_three_forms(text: str, first: str, last: str, size: int) -> None:
    block = AddressRange.parse(text)
    assert (str(block.first), str(block.last), block.size) == (first, last, size)
    assert AddressRange.parse(str(block)) == block  # the normal form parses back


@pytest.mark.parametrize(
    "text", ["192.0.2.9-192.0.2.2", "192.0.2.1-2001:db8::1", "192.0.2.300", "a-b", "10.0.0.0/33"]
)
def test_nonsense_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        AddressRange.parse(text)


def test_the_plans_skip_ranges_and_prefixes() -> None:
    reserved = [AddressRange.parse("192.0.2.1-192.0.2.9"), ipaddress.IPv4Address("192.0.2.10")]
    assert str(lowest_free_ipv4(V4, [], reserved)) == "192.0.2.11"
    taken = [ipaddress.IPv4Address("192.0.2.11")]
    assert str(lowest_free_ipv4(V4, taken, reserved)) == "192.0.2.12"
    # AS213035's first node is 2001:db8:ab::21:3035:1; a prefix covering it moves it on.
    block = [AddressRange.parse("2001:db8:ab::21:3035:0/127")]
    assert str(lowest_free_ipv6(V6, 213035, [], block)) == "2001:db8:ab::21:3035:2"
    assert ipaddress.IPv4Address("192.0.2.5") not in block[0]  # another family never matches
