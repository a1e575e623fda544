"""Route-server features on live BIRD: a member announces, the route server decides, a second
member receives (issue 16).

Members (public ASNs, IPv4 only):
  A  AS213035  graceful-shutdown and blackhole announcer, RPKI entitlement (no IRR data)
  B  AS13335   blackhole announcer with IRR data (104.16.0.0/13)
  F  AS6939    the alternative path to A's 193.0.0.0/21 (path 6939 213035)
  C  AS3320    receiver
"""

from __future__ import annotations

import dataclasses
import ipaddress as ip
from collections.abc import Iterator

import pytest

from tests.routeserver.birdlab import Bird, Lab
from tests.support.rsfeat_lab import (
    communities,
    feature_lab,
    large_communities,
    member_config,
    prepend,
    reconfigure,
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
from ztix.routeserver.policy_data import (
    BLACKHOLE,
    GRACEFUL_SHUTDOWN,
    NO_EXPORT,
    REJECT_FUNCTION,
    RejectReason,
)
from ztix.routeserver.render import peer_protocols

RS_ASN = 6777
RTR_PORT = 3324
LAN4, LAN6 = "192.0.2.0/24", "2001:db8:ab::/64"
RS4 = "192.0.2.1"
BLACKHOLE_NH = ip.IPv4Address("192.0.2.66")

A = Peer("a", 213035, "a0a0a0a0a0", ip.IPv4Address("192.0.2.10"), None, 100, 100)
B = Peer(
    "b",
    13335,
    "b0b0b0b0b0",
    ip.IPv4Address("192.0.2.20"),
    None,
    100,
    100,
    irr_prefixes_ipv4=(ip.IPv4Network("104.16.0.0/13"),),
    irr_origins=(13335,),
)
F = Peer("f", 6939, "f0f0f0f0f0", ip.IPv4Address("192.0.2.60"), None, 100, 100)
C = Peer("c", 3320, "c0c0c0c0c0", ip.IPv4Address("192.0.2.30"), None, 100, 100)

ROAS = [
    {"prefix": "193.0.0.0/21", "maxLength": 21, "asn": "AS213035"},
    # A ROA that allows A's blackhole more-specifics (maxLength up to /32).
    {"prefix": "193.0.16.0/22", "maxLength": 32, "asn": "AS213035"},
]

GSHUT, BH = GRACEFUL_SHUTDOWN, BLACKHOLE
A_ROUTES = routes(
    ("193.0.0.0/21", std(GSHUT)),  # F offers the same prefix: F's path must win
    ("185.1.0.0/24", std(GSHUT)),  # the only path: still exported, with the community
    ("193.0.10.0/24", ""),  # an ordinary route (drain test)
    ("193.0.16.1/32", std(BH)),  # blackhole, RPKI-valid (ROA maxLength 32)
    ("193.0.1.1/32", std(BH)),  # blackhole, its ROA stops at /21: not entitled
    ("8.8.8.8/32", std(BH)),  # somebody else's address
    ("193.0.17.0/25", ""),  # too long, and no BLACKHOLE: the length check still applies
)
B_ROUTES = routes(
    ("104.16.0.1/32", std(BH)),  # inside B's AS-SET route objects
    ("1.1.1.1/32", std(BH)),  # outside them
)
F_ROUTES = routes(("193.0.0.0/21", prepend(213035)))


def desired(config_dir: str, **server: object) -> DesiredConfig:
    rs = RouteServer(
        name="rs-feat",
        asn=RS_ASN,
        router_id=ip.IPv4Address(RS4),
        ipv4=ip.IPv4Address(RS4),
        ipv6=ip.IPv6Address("2001:db8:ab::1"),
        ipv4_prefix=ip.IPv4Network(LAN4),
        ipv6_prefix=ip.IPv6Network(LAN6),
        config_dir=config_dir,
        validators=(RpkiValidator("lab", ip.IPv4Address("127.0.0.1"), RTR_PORT, 60, 5, 600),),
        policy=Policy(),
        blackholing=Blackholing(True, BLACKHOLE_NH, None),
    )
    return DesiredConfig(dataclasses.replace(rs, **server), (A, B, F, C))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("rsfeat")
    members = {
        "a": (A, member_config(A, RS4, A_ROUTES)),
        "b": (B, member_config(B, RS4, B_ROUTES)),
        "f": (F, member_config(F, RS4, F_ROUTES)),
        "c": (C, member_config(C, RS4, "")),
    }
    with feature_lab(workdir, desired(str(workdir / "rs")), members, ROAS, RTR_PORT) as lab:
        yield lab


def rs(lab: Lab) -> Bird:
    return lab.birds["rs"]


def proto(peer: Peer) -> str:
    return peer_protocols(peer)[0]


def at(lab: Lab, member: str, prefix: str) -> str:
    return wait_for(f"{prefix} at {member}", lambda: show_route(lab.birds[member], prefix), 20)


def reject_reason(lab: Lab, prefix: str) -> int:
    block = wait_for(f"{prefix} filtered", lambda: show_route(rs(lab), prefix, "filtered"), 20)
    codes = [c for a, f, c in large_communities(block) if a == RS_ASN and f == REJECT_FUNCTION]
    assert len(codes) == 1, block
    return codes[0]


# ----------------------------------------------------------------- graceful shutdown (RFC 8326)


def test_graceful_shutdown_route_loses_to_the_alternative(lab: Lab) -> None:
    # Both paths are on the route server; A's is the shorter but carries GRACEFUL_SHUTDOWN.
    out = wait_for(
        "both paths of 193.0.0.0/21",
        lambda: (
            (o := rs(lab).birdc("show", "route", "193.0.0.0/21", "table", "ztix_rs4", "all")).count(
                "BGP.as_path"
            )
            == 2
            and o
        ),
        20,
    )
    best = show_route(rs(lab), "193.0.0.0/21")
    assert f"[{proto(F)} " in best, out
    a_path = out.split(f"[{proto(A)} ")[1]
    assert "BGP.local_pref: 0" in a_path, out
    assert "(65535,0)" in a_path, out
    # The receiver gets F's path (F's next hop), not A's.
    block = at(lab, "c", "193.0.0.0/21")
    assert f"BGP.next_hop: {F.ipv4}" in block, block


def test_graceful_shutdown_community_is_kept_on_export(lab: Lab) -> None:
    block = at(lab, "c", "185.1.0.0/24")
    assert GSHUT in communities(block), block
    assert f"BGP.next_hop: {A.ipv4}" in block


# ------------------------------------------------------------------------ blackholing (RFC 7999)


def test_rpki_entitled_blackhole_reaches_members_with_the_blackhole_next_hop(lab: Lab) -> None:
    block = at(lab, "c", "193.0.16.1/32")
    assert f"BGP.next_hop: {BLACKHOLE_NH}" in block, block
    assert {BH, NO_EXPORT} <= communities(block), block
    # On the route server the member's own next hop stays (the rewrite is per export).
    assert f"BGP.next_hop: {A.ipv4}" in show_route(rs(lab), "193.0.16.1/32")


def test_irr_entitled_blackhole_is_accepted(lab: Lab) -> None:
    block = at(lab, "c", "104.16.0.1/32")
    assert f"BGP.next_hop: {BLACKHOLE_NH}" in block, block
    assert {BH, NO_EXPORT} <= communities(block), block


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        ("193.0.1.1/32", RejectReason.BLACKHOLE_NOT_ENTITLED),
        ("8.8.8.8/32", RejectReason.BLACKHOLE_NOT_ENTITLED),
        ("1.1.1.1/32", RejectReason.PREFIX_NOT_IN_IRR),
        ("193.0.17.0/25", RejectReason.PREFIX_LENGTH),
    ],
)
def test_blackholes_of_others_are_refused_with_a_reason(lab: Lab, prefix: str, reason: int) -> None:
    assert reject_reason(lab, prefix) == reason
    at(lab, "c", "104.16.0.1/32")  # C has B's routes by now
    assert not show_route(lab.birds["c"], prefix)


def test_without_blackholing_a_blackhole_is_an_ordinary_too_long_route(lab: Lab) -> None:
    """Runs before the drain tests: switches blackholing off on the running server."""
    config_dir = str(lab.workdir / "rs")
    reconfigure(lab, desired(config_dir, blackholing=Blackholing()))
    try:
        assert wait_for(
            "193.0.16.1/32 refused",
            lambda: show_route(rs(lab), "193.0.16.1/32", "filtered"),
            20,
        )
        assert reject_reason(lab, "193.0.16.1/32") == RejectReason.PREFIX_LENGTH
        wait_for("the withdrawal at C", lambda: not show_route(lab.birds["c"], "193.0.16.1/32"), 20)
    finally:
        reconfigure(lab, desired(config_dir))
    at(lab, "c", "193.0.16.1/32")


# ------------------------------------------------------------------------------ drain / undrain


def test_drained_server_adds_graceful_shutdown_to_every_export(lab: Lab) -> None:
    config_dir = str(lab.workdir / "rs")
    block = at(lab, "c", "193.0.10.0/24")
    assert GSHUT not in communities(block)
    reconfigure(lab, desired(config_dir, drained=True))
    block = wait_for(
        "GRACEFUL_SHUTDOWN on 193.0.10.0/24 at C",
        lambda: GSHUT in communities(b := show_route(lab.birds["c"], "193.0.10.0/24")) and b,
        20,
    )
    assert f"BGP.next_hop: {A.ipv4}" in block
    assert GSHUT in communities(at(lab, "a", "104.16.0.1/32"))
    # Undrain: the community goes away again; the route stays.
    reconfigure(lab, desired(config_dir, drained=False))
    wait_for(
        "193.0.10.0/24 at C without GRACEFUL_SHUTDOWN",
        lambda: (b := show_route(lab.birds["c"], "193.0.10.0/24")) and GSHUT not in communities(b),
        20,
    )
