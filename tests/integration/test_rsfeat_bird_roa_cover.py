"""Blackholes under a covering ROA on live BIRD (issue 16): a member with no IRR data
announces a BLACKHOLE /32 (/128) inside a ROA of its own ASN that stops at /24 (/48). BIRD
cannot test that (docs/route-servers.md); ZT-IX reads the same VRP file StayRTR serves and
renders the member's covering ROA prefixes into its `import where`.

Members (public ASNs, dual stack):
  A  AS213035  blackhole announcer, no IRR data
  C  AS3320    receiver
"""

from __future__ import annotations

import dataclasses
import ipaddress as ip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.birdlab import Lab
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
from ztix.domain.rpki import blackhole_roas
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
from ztix.rpki import vrp

RS_ASN = 6777
RTR_PORT = 3328
RS4, RS6 = "192.0.2.1", "2001:db8:ab::1"
BLACKHOLE_NH = ip.IPv4Address("192.0.2.66")
BLACKHOLE_NH6 = ip.IPv6Address("2001:db8:ab::66")

A = Peer(
    "a", 213035, "a1a1a1a1a1", ip.IPv4Address("192.0.2.10"), ip.IPv6Address(f"{RS6}0"), 100, 100
)
C = Peer("c", 3320, "c1c1c1c1c1", ip.IPv4Address("192.0.2.30"), ip.IPv6Address(f"{RS6}1"), 100, 100)

ROAS = [
    # A's /24, maxLength 24: its /32s are RPKI-invalid, but the ROA covers them.
    {"prefix": "193.0.20.0/24", "maxLength": 24, "asn": "AS213035"},
    # Somebody else's /24.
    {"prefix": "193.0.22.0/24", "maxLength": 24, "asn": 3333},
    {"prefix": "2001:67c:1234::/48", "maxLength": 48, "asn": 213035},
    {"prefix": "2001:7fb::/32", "maxLength": 48, "asn": "AS3333"},
]
# Bad entries in ZT-IX's copy: skipped, the rest still counts.
BAD_ROAS = [
    {"prefix": "193.0.30.1/24", "maxLength": 24, "asn": "AS213035"},
    {"prefix": "193.0.31.0/24", "maxLength": 16, "asn": "AS213035"},
    "not a ROA",
]
A_ROUTES = routes(
    ("193.0.20.7/32", std(BLACKHOLE)),  # inside A's ROA: entitled
    ("193.0.22.7/32", std(BLACKHOLE)),  # inside AS3333's ROA: not A's
    ("193.0.21.7/32", std(BLACKHOLE)),  # no ROA at all
    ("193.0.30.7/32", std(BLACKHOLE)),  # under a bad entry only
)
A_ROUTES6 = routes(
    ("2001:67c:1234::7/128", std(BLACKHOLE)),  # inside A's ROA: entitled
    ("2001:7fb:ff00::7/128", std(BLACKHOLE)),  # inside AS3333's ROA: not A's
    ("2a00:1450::7/128", std(BLACKHOLE)),  # no ROA at all
)


def desired(config_dir: str, roas_file: Path) -> DesiredConfig:
    data = vrp.load(roas_file)
    assert data is not None and data.skipped == 3
    a = dataclasses.replace(
        A,
        blackhole_roas_ipv4=blackhole_roas(data.by_asn, A.asn, None, 4),  # type: ignore[arg-type]
        blackhole_roas_ipv6=blackhole_roas(data.by_asn, A.asn, None, 6),  # type: ignore[arg-type]
    )
    rs = RouteServer(
        name="rs-roa",
        asn=RS_ASN,
        router_id=ip.IPv4Address(RS4),
        ipv4=ip.IPv4Address(RS4),
        ipv6=ip.IPv6Address("2001:db8:ab::1"),
        ipv4_prefix=ip.IPv4Network("192.0.2.0/24"),
        ipv6_prefix=ip.IPv6Network("2001:db8:ab::/64"),
        config_dir=config_dir,
        validators=(RpkiValidator("lab", ip.IPv4Address("127.0.0.1"), RTR_PORT, 60, 5, 600),),
        policy=Policy(),
        blackholing=Blackholing(True, BLACKHOLE_NH, BLACKHOLE_NH6),
    )
    return DesiredConfig(rs, (a, C))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("rsroa")
    # The VRP file ZT-IX reads: the same ROAs the lab's StayRTR serves (feature_lab writes
    # them again for it).
    roas_file = workdir / "vrps.json"
    roas_file.write_text(json.dumps({"roas": [*ROAS, *BAD_ROAS]}))
    members = {
        "a": (A, member_config(A, RS4, A_ROUTES, rs6=RS6, routes6=A_ROUTES6)),
        "c": (C, member_config(C, RS4, "", rs6=RS6)),
    }
    up = [p for peer in (A, C) for p in peer_protocols(peer)]
    rs_desired = desired(str(workdir / "rs"), roas_file)
    with feature_lab(workdir, rs_desired, members, ROAS, RTR_PORT, established=up) as lab:
        yield lab


def reject_reason(lab: Lab, prefix: str) -> int:
    block = wait_for(
        f"{prefix} filtered", lambda: show_route(lab.birds["rs"], prefix, "filtered"), 20
    )
    codes = [c for a, f, c in large_communities(block) if a == RS_ASN and f == REJECT_FUNCTION]
    assert len(codes) == 1, block
    return codes[0]


@pytest.mark.parametrize(
    ("prefix", "next_hop", "peer_ip"),
    [
        ("193.0.20.7/32", BLACKHOLE_NH, A.ipv4),
        ("2001:67c:1234::7/128", BLACKHOLE_NH6, A.ipv6),
    ],
)
def test_blackhole_under_a_covering_roa_of_its_origin_reaches_members(
    lab: Lab, prefix: str, next_hop: object, peer_ip: object
) -> None:
    block = wait_for(f"{prefix} at C", lambda: show_route(lab.birds["c"], prefix), 20)
    assert f"BGP.next_hop: {next_hop}" in block, block
    assert {BLACKHOLE, NO_EXPORT} <= communities(block), block
    rs_block = show_route(lab.birds["rs"], prefix)
    assert f"BGP.next_hop: {peer_ip}" in rs_block, rs_block


@pytest.mark.parametrize(
    ("prefix", "accepted"),
    [
        ("193.0.22.7/32", "193.0.20.7/32"),
        ("193.0.21.7/32", "193.0.20.7/32"),
        ("193.0.30.7/32", "193.0.20.7/32"),
        ("2001:7fb:ff00::7/128", "2001:67c:1234::7/128"),
        ("2a00:1450::7/128", "2001:67c:1234::7/128"),
    ],
)
def test_blackhole_without_a_covering_roa_of_its_origin_is_refused(
    lab: Lab, prefix: str, accepted: str
) -> None:
    assert reject_reason(lab, prefix) == RejectReason.BLACKHOLE_NOT_ENTITLED
    wait_for(f"{accepted} at C", lambda: show_route(lab.birds["c"], accepted), 20)
    assert not show_route(lab.birds["c"], prefix)
