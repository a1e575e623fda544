"""IPv6 blackholing (RFC 7999) on live BIRD: a member announces a /128 of a prefix it is
entitled to with BLACKHOLE, the route server accepts it, adds NO_EXPORT and rewrites the next
hop to the network's IPv6 blackhole next hop, and a second member receives it so; blackholes
of prefixes the member is not entitled to are refused with the reason community (issue 16).

Members (IPv6 sessions; their IPv4 sessions carry no routes):
  A  AS213035  RPKI entitlement (no IRR data)
  B  AS13335   IRR entitlement (2606:4700::/32 in its AS-SET's route6 objects)
  C  AS3320    receiver
"""

from __future__ import annotations

import ipaddress as ip
from collections.abc import Iterator

import pytest

from tests.support.birdlab import Bird, Lab
from tests.support.rsfeat_lab import (
    communities,
    feature_lab,
    large_communities,
    member_config,
    routes,
    show_route,
    std,
)
from tests.support.waiting import wait_for
from ztix.routeserver.model import (
    Blackholing,
    DesiredConfig,
    Peer,
    Policy,
    RouteServer,
    RpkiValidator,
)
from ztix.routeserver.policy_data import BLACKHOLE, NO_EXPORT, REJECT_FUNCTION, RejectReason
from ztix.routeserver.render import peer_protocols

RS_ASN = 6777
RTR_PORT = 3326
LAN4, LAN6 = "192.0.2.0/24", "2001:db8:ab::/64"
RS4, RS6 = "192.0.2.1", "2001:db8:ab::1"
BLACKHOLE_NH6 = ip.IPv6Address("2001:db8:ab::66")

A = Peer(
    "a",
    213035,
    "a6a6a6a6a6",
    ip.IPv4Address("192.0.2.10"),
    ip.IPv6Address("2001:db8:ab::21:3035:1"),
    100,
    100,
)
B = Peer(
    "b",
    13335,
    "b6b6b6b6b6",
    ip.IPv4Address("192.0.2.20"),
    ip.IPv6Address("2001:db8:ab::1:3335:1"),
    100,
    100,
    irr_prefixes_ipv6=(ip.IPv6Network("2606:4700::/32"),),
    irr_origins=(13335,),
)
C = Peer(
    "c",
    3320,
    "c6c6c6c6c6",
    ip.IPv4Address("192.0.2.30"),
    ip.IPv6Address("2001:db8:ab::3320:1"),
    100,
    100,
)

ROAS = [
    # A's blackhole more-specifics are RPKI valid (maxLength 128) ...
    {"prefix": "2001:67c:2e8::/48", "maxLength": 128, "asn": "AS213035"},
    # ... but not inside this one, whose ROA stops at /48.
    {"prefix": "2001:7fb::/32", "maxLength": 48, "asn": "AS213035"},
]

BH = BLACKHOLE
A_ROUTES6 = routes(
    ("2001:67c:2e8::1/128", std(BH)),  # entitled: RPKI valid
    ("2001:7fb:ff00::1/128", std(BH)),  # A's, but its ROA stops at /48: not entitled
    ("2001:4860:4860::8888/128", std(BH)),  # somebody else's address
    ("2001:67c:2e8:1::/64", ""),  # too long, and no BLACKHOLE: the length check applies
)
B_ROUTES6 = routes(
    ("2606:4700::1111/128", std(BH)),  # inside B's route6 objects
    ("2a00:1450::1/128", std(BH)),  # outside them
)


def desired(config_dir: str) -> DesiredConfig:
    rs = RouteServer(
        name="rs-feat6",
        asn=RS_ASN,
        router_id=ip.IPv4Address(RS4),
        ipv4=ip.IPv4Address(RS4),
        ipv6=ip.IPv6Address(RS6),
        ipv4_prefix=ip.IPv4Network(LAN4),
        ipv6_prefix=ip.IPv6Network(LAN6),
        config_dir=config_dir,
        validators=(RpkiValidator("lab", ip.IPv4Address("127.0.0.1"), RTR_PORT, 60, 5, 600),),
        policy=Policy(),
        blackholing=Blackholing(True, None, BLACKHOLE_NH6),
    )
    return DesiredConfig(rs, (A, B, C))


def proto6(peer: Peer) -> str:
    return next(p for p in peer_protocols(peer) if p.endswith("_v6"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("rsfeat6")
    members = {
        "a": (A, member_config(A, RS4, "", rs6=RS6, routes6=A_ROUTES6)),
        "b": (B, member_config(B, RS4, "", rs6=RS6, routes6=B_ROUTES6)),
        "c": (C, member_config(C, RS4, "", rs6=RS6)),
    }
    up = [proto6(p) for p in (A, B, C)]
    with feature_lab(
        workdir, desired(str(workdir / "rs")), members, ROAS, RTR_PORT, established=up
    ) as lab:
        yield lab


def rs(lab: Lab) -> Bird:
    return lab.birds["rs"]


def at(lab: Lab, member: str, prefix: str) -> str:
    return wait_for(f"{prefix} at {member}", lambda: show_route(lab.birds[member], prefix), 20)


def reject_reason(lab: Lab, prefix: str) -> int:
    block = wait_for(f"{prefix} filtered", lambda: show_route(rs(lab), prefix, "filtered"), 20)
    codes = [c for a, f, c in large_communities(block) if a == RS_ASN and f == REJECT_FUNCTION]
    assert len(codes) == 1, block
    return codes[0]


def test_rpki_entitled_ipv6_blackhole_reaches_members_with_the_blackhole_next_hop(
    lab: Lab,
) -> None:
    block = at(lab, "c", "2001:67c:2e8::1/128")
    assert f"BGP.next_hop: {BLACKHOLE_NH6}" in block, block
    assert {BH, NO_EXPORT} <= communities(block), block
    # On the route server the member's own next hop stays (the rewrite is per export).
    on_rs = show_route(rs(lab), "2001:67c:2e8::1/128")
    assert f"BGP.next_hop: {A.ipv6}" in on_rs, on_rs
    assert {BH, NO_EXPORT} <= communities(on_rs), on_rs


def test_irr_entitled_ipv6_blackhole_is_accepted(lab: Lab) -> None:
    block = at(lab, "c", "2606:4700::1111/128")
    assert f"BGP.next_hop: {BLACKHOLE_NH6}" in block, block
    assert {BH, NO_EXPORT} <= communities(block), block


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        ("2001:7fb:ff00::1/128", RejectReason.BLACKHOLE_NOT_ENTITLED),
        ("2001:4860:4860::8888/128", RejectReason.BLACKHOLE_NOT_ENTITLED),
        ("2a00:1450::1/128", RejectReason.PREFIX_NOT_IN_IRR),
        ("2001:67c:2e8:1::/64", RejectReason.PREFIX_LENGTH),
    ],
)
def test_ipv6_blackholes_of_others_are_refused_with_a_reason(
    lab: Lab, prefix: str, reason: int
) -> None:
    assert reject_reason(lab, prefix) == reason
    at(lab, "c", "2606:4700::1111/128")  # C has B's accepted routes by now
    assert not show_route(lab.birds["c"], prefix)
