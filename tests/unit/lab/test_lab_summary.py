"""The lab's reading of birdc output and the member routers' configuration (no processes)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from ztix.lab import files, plan, summary

FILTERED = """\
BIRD 2.0.12 ready.
Table ztix_rs4:
193.0.8.0/23         unicast [AS213035_a1a1a1a1a1_v4 2026-12-06 05:32:10.123] (100) [AS213035i]
\tvia 192.0.2.2 on lan
\tType: BGP univ
\tBGP.as_path: 213035
\tBGP.large_community: (64500, 1000, 4) (64500, 65520, 14)
203.0.113.0/24       unicast [AS213035_a1a1a1a1a1_v4 2026-12-06 05:32:10.123] (100) [AS213035i]
\tvia 192.0.2.2 on lan
\tBGP.large_community: (64500, 65520, 2) (65000, 65520, 7)
193.0.12.0/25        unicast [AS213035_a1a1a1a1a1_v4 2026-12-06 05:32:10.123] (100) [AS213035i]
\tvia 192.0.2.2 on lan
"""

PROTOCOL = """\
BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
AS213035_a1a1a1a1a1_v4 BGP        ---        up     2026-12-06 05:32:09.876  Established
  Description:    AS213035 node a1a1a1a1a1 IPv4
  Channel ipv4
    State:          UP
    Routes:         2 imported, 3 filtered, 5 exported, 2 preferred
"""


def test_refused_routes_carry_the_reason_of_their_reject_community(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(summary, "birdc", lambda *_args: FILTERED)
    found = summary.refused_routes("birdc", Path("x.ctl"), "AS213035_a1a1a1a1a1_v4", 64500)
    assert found == {
        "193.0.8.0/23": "rpki invalid",
        "203.0.113.0/24": "bogon",  # (65000, 65520, 7) is not the route server's
        "193.0.12.0/25": "filtered (no reason tag)",
    }


def test_protocol_state_and_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summary, "birdc", lambda *_args: PROTOCOL)
    session = summary.protocol_state("birdc", Path("x.ctl"), "AS213035_a1a1a1a1a1_v4")
    assert session.established
    assert (session.accepted, session.filtered) == (2, 3)


def test_unknown_reason_codes_are_named_by_number() -> None:
    assert summary.reason_name(13) == "prefix length"
    assert summary.reason_name(99) == "reason 99"


def test_a_member_router_peers_with_every_route_server_in_both_families() -> None:
    lab = plan.full(Path("/tmp/lab"))
    text = files.member_bird_conf(
        lab,
        plan.ALPHA,
        ipaddress.IPv4Address("192.0.2.3"),
        ipaddress.IPv6Address("2001:db8:ab::21:3035:1"),
    )
    for rs in ("rs1", "rs2"):
        assert f"protocol bgp {rs}_v4 {{" in text and f"protocol bgp {rs}_v6 {{" in text
    assert "neighbor 192.0.2.2 as 64500;" in text and "neighbor 2001:db8:ab::1 as 64500;" in text
    assert "route 193.0.8.0/23 blackhole;" in text and "route 2001:db8:1::/48 blackhole;" in text
    assert "connect retry time 2;" in text


def test_every_refused_route_of_the_plan_has_a_reason() -> None:
    refused = [r for m in plan.full(Path("/tmp/lab")).members for r in m.routes if r.rejected]
    assert {r.rejected.name for r in refused if r.rejected} == {
        "RPKI_INVALID",
        "BOGON",
        "PREFIX_LENGTH",
    }
