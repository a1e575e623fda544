"""The looking glass's allow-listed commands, and its parser on real `birdc -v show route
... all` output of BIRD 2.0.12 (captured from the live lab of
tests/integration/test_rsfeat_bird.py; the integration tests parse fresh output too)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from ztix.routeserver.lookingglass import (
    LookingGlassError,
    decode,
    irr_state,
    lookup_commands,
    not_found,
    parse_routes,
    routes_command,
    rpki_state,
)
from ztix.routeserver.policy_data import RejectReason
from ztix.routeserver.transport import BirdcReply

SAMPLES = Path(__file__).parent / "lg_samples"
RS_ASN = 6777
A = "AS213035_a0a0a0a0a0_v4"


def sample(name: str) -> BirdcReply:
    return BirdcReply(0, (SAMPLES / f"{name}.txt").read_text())


def test_filtered_routes_with_their_reasons_in_words() -> None:
    routes = parse_routes(sample("filtered"))
    for route in routes:
        decode(route, RS_ASN)
    by_prefix = {r.prefix: r for r in routes}
    assert set(by_prefix) == {"8.8.8.8/32", "193.0.17.0/25", "193.0.1.1/32"}
    bh = by_prefix["8.8.8.8/32"]
    assert bh.protocol == A and bh.next_hop == "192.0.2.10" and bh.as_path == (213035,)
    assert bh.blackhole and bh.reject_codes == (RejectReason.BLACKHOLE_NOT_ENTITLED,)
    assert bh.reasons() == ["blackhole for a prefix the member is not entitled to"]
    assert by_prefix["193.0.17.0/25"].reasons() == [
        "prefix length outside the allowed range (too long or too short)"
    ]
    assert irr_state(bh, RS_ASN) == ["origin not checked", "prefix not checked"]


def test_two_paths_of_one_prefix() -> None:
    routes = parse_routes(sample("lookup"))
    assert [(r.prefix, r.protocol, r.primary) for r in routes] == [
        ("193.0.0.0/21", "AS6939_f0f0f0f0f0_v4", True),
        ("193.0.0.0/21", A, False),
    ]
    gshut = routes[1]
    assert gshut.graceful_shutdown and gshut.local_pref == 0
    assert routes[0].as_path == (6939, 213035)
    assert rpki_state(routes[0], RS_ASN) == "valid"


def test_accepted_and_exported() -> None:
    accepted = parse_routes(sample("accepted"))
    assert accepted and all(r.protocol == A and not r.reject_codes for r in accepted)
    exported = parse_routes(sample("exported"))
    assert exported and all(r.prefix for r in exported)


def test_network_not_found_is_empty() -> None:
    reply = BirdcReply(1, (SAMPLES / "none.txt").read_text())
    assert parse_routes(reply) == [] and not_found(reply)


def test_commands_come_from_the_allow_list_only() -> None:
    assert routes_command(A, "filtered") == (
        "show", "route", "table", "ztix_rs4", "protocol", A, "filtered", "all",
    )  # fmt: skip
    assert routes_command("AS1_0123456789_v6", "exported")[3] == "ztix_rs6"
    net = ipaddress.ip_network("193.0.0.0/21")
    assert lookup_commands(A, net)["accepted"][2] == "193.0.0.0/21"
    for bad in ("AS1_x; configure", "bgp1", "AS1_0123456789_v4 all", "master4"):
        with pytest.raises(LookingGlassError):
            routes_command(bad, "accepted")
    with pytest.raises(LookingGlassError):
        routes_command(A, "configure")  # type: ignore[arg-type]
    with pytest.raises(LookingGlassError):
        lookup_commands(A, ipaddress.ip_network("2001:db8::/32"))
    with pytest.raises(LookingGlassError):
        lookup_commands(A, "193.0.0.0/21 table master4")  # type: ignore[arg-type]
