"""The per-network blackholing switch: off by default, next hops inside the peering LAN."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from ztix.config.networks import NetworkConfig

BASE = {
    "suffix": "000001",
    "name": "IX",
    "ipv4_prefix": "192.0.2.0/24",
    "ipv6_prefix": "2001:db8:ab::/64",
}


def test_off_by_default() -> None:
    net = NetworkConfig(**BASE)
    assert net.blackholing.enabled is False
    assert net.blackhole_next_hops == ()


def test_next_hops_are_reserved_addresses_of_the_lan() -> None:
    net = NetworkConfig(
        **BASE,
        blackholing={
            "enabled": True,
            "next_hop_ipv4": "192.0.2.66",
            "next_hop_ipv6": "2001:db8:ab::666",
        },
    )
    assert net.blackhole_next_hops == (
        ipaddress.IPv4Address("192.0.2.66"),
        ipaddress.IPv6Address("2001:db8:ab::666"),
    )


@pytest.mark.parametrize(
    "blackholing",
    [
        {"enabled": True, "next_hop_ipv4": "198.51.100.66"},
        {"enabled": True, "next_hop_ipv6": "2001:db8:cd::666"},
        {"enabled": True, "next_hop_ipv4": "2001:db8:ab::666"},
        {"enabled": "maybe"},
        {"enabled": True, "community": "65535:666"},
    ],
)
def test_bad_settings_are_refused(blackholing: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        NetworkConfig(**BASE, blackholing=blackholing)
