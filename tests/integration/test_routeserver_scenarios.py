"""Live scenarios: the rendered configuration running in a real BIRD route server.

A route-server BIRD (config rendered by ``render()``), StayRTR serving a ROA file, and
member-side BIRDs in network namespaces on one bridged peering LAN. Each member announces
routes built to hit one import check; every outcome is read back from the route server's own
``birdc show route [filtered] ... all``, reject-reason community included. Export control
communities are checked on the receiving members' BIRDs.

Members (public ASNs: the policy rejects private ones anywhere in a path):
  A  AS213035  announcer of the import-policy cases, IPv4 and IPv6 (32-bit ASN)
  B  AS13335   IRR data; announces routes carrying export-control communities
  C  AS3320    receiver; the 16-bit "peer X" of the control communities
  D  AS15169   max-prefix 3, announces 5
  E  AS1299    its router omits its own ASN (a route-server-like box): first AS mismatch
"""

from __future__ import annotations

import dataclasses
import ipaddress as ip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.birdlab import Bird, Lab, require_tools
from tests.support.waiting import wait_for
from ztix.routeserver.model import DesiredConfig, Peer, Policy, RouteServer, RpkiValidator
from ztix.routeserver.policy_data import REJECT_FUNCTION, IrrInfo, RejectReason, RpkiInfo
from ztix.routeserver.render import (
    peer_protocols,
    render,
    render_host_config,
)

RS_ASN = 6777
RTR_PORT = 3323
LAN4, LAN6 = "192.0.2.0/24", "2001:db8:ab::/64"
RS4, RS6 = "192.0.2.1", "2001:db8:ab::1"

A = Peer(
    "a",
    213035,
    "a0a0a0a0a0",
    ip.IPv4Address("192.0.2.10"),
    ip.IPv6Address("2001:db8:ab::21:3035:1"),
    100,
    100,
)
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
C = Peer("c", 3320, "c0c0c0c0c0", ip.IPv4Address("192.0.2.30"), None, 100, 100)
D = Peer("d", 15169, "d0d0d0d0d0", ip.IPv4Address("192.0.2.40"), None, 3, 100)
E = Peer("e", 1299, "e0e0e0e0e0", ip.IPv4Address("192.0.2.50"), None, 100, 100)
NEVER_VIA_RS = 174

ROAS = [
    {"prefix": "193.0.0.0/21", "maxLength": 21, "asn": "AS213035"},
    {"prefix": "193.0.8.0/23", "maxLength": 23, "asn": "AS3333"},
    {"prefix": "2001:67c:2e8::/48", "maxLength": 48, "asn": "AS213035"},
]
# Added while the lab runs: BIRD must re-filter A's routes by itself (import table + rpki reload).
LATE_ROA = {"prefix": "193.0.22.0/24", "maxLength": 24, "asn": "AS3333"}

MEMBER_TIMERS = """
	connect delay time 1;
	connect retry time 1;
	error wait time 1, 2;
"""


def member_config(peer: Peer, routes4: str, routes6: str = "", *, rs_client: bool = False) -> str:
    """A member router: static routes (with per-route attributes) exported to the RS."""
    rid = peer.ipv4
    text = f"""
router id {rid};
log stderr all;
protocol device {{ }}
protocol static static4 {{
	ipv4;
{routes4}
}}
protocol bgp rs_v4 {{
	local {peer.ipv4} as {peer.asn};
	neighbor {RS4} as {RS_ASN};
	{"rs client;" if rs_client else ""}
{MEMBER_TIMERS}
	ipv4 {{ import all; export all; }};
}}
"""
    if peer.ipv6 is not None:
        text += f"""
protocol static static6 {{
	ipv6;
{routes6}
}}
protocol bgp rs_v6 {{
	local {peer.ipv6} as {peer.asn};
	neighbor {RS6} as {RS_ASN};
{MEMBER_TIMERS}
	ipv6 {{ import all; export all; }};
}}
"""
    return text


def prepend(*asns: int) -> str:
    return " ".join(f"bgp_path.prepend({a});" for a in reversed(asns))


def std(*pairs: tuple[int, int]) -> str:
    return " ".join(f"bgp_community.add(({a}, {b}));" for a, b in pairs)


def large(*triples: tuple[int, int, int]) -> str:
    return " ".join(f"bgp_large_community.add(({a}, {b}, {c}));" for a, b, c in triples)


def routes(*entries: tuple[str, str]) -> str:
    """Static routes: (prefix, statements run on the route), "via X" for a gateway."""
    lines = []
    for prefix, extra in entries:
        target = extra if extra.startswith("via ") else "blackhole"
        body = f" {{ {extra} }}" if extra and not extra.startswith("via ") else ""
        lines.append(f"\troute {prefix} {target}{body};")
    return "\n".join(lines)


A_ROUTES4 = routes(
    ("193.0.0.0/21", ""),  # RPKI valid
    ("193.0.8.0/23", ""),  # RPKI invalid (ROA for AS3333)
    ("193.0.10.0/24", ""),  # RPKI unknown
    ("203.0.113.0/24", ""),  # bogon (TEST-NET-3)
    ("193.0.12.0/25", ""),  # too long
    ("193.0.14.0/24", "via 192.0.2.99"),  # next hop is not A
    ("193.0.16.0/24", prepend(64512)),  # private ASN in the path
    ("193.0.18.0/24", prepend(NEVER_VIA_RS)),  # never via route servers
    ("193.0.20.0/24", prepend(*[213035] * 33)),  # path 34 long
    ("193.0.22.0/24", ""),  # invalid once LATE_ROA lands
)
A_ROUTES6 = routes(
    ("2001:67c:2e8::/48", ""),  # RPKI valid
    ("2001:db8:1::/48", ""),  # bogon (documentation)
)
B_ROUTES4 = routes(
    ("104.16.0.0/24", ""),  # in the AS-SET (a more-specific of 104.16.0.0/13)
    ("1.1.1.0/24", ""),  # not in the AS-SET
    ("104.17.0.0/24", prepend(3320)),  # origin AS3320 is not in the AS-SET
    ("104.18.0.0/24", std((0, C.asn))),  # do not announce to C
    ("104.19.0.0/24", large((RS_ASN, 0, C.asn))),  # do not announce to C
    ("104.20.0.0/24", large((RS_ASN, 0, A.asn))),  # do not announce to A (32-bit)
    ("104.21.0.0/24", large((RS_ASN, 0, 0), (RS_ASN, 1, C.asn))),  # only to C
    ("104.22.0.0/24", std((0, RS_ASN), (RS_ASN, C.asn))),  # only to C
    ("104.23.0.0/24", large((RS_ASN, 65520, 2), (65000, 1, 1))),  # a forged reject tag
)
D_ROUTES4 = "\n".join(f"\troute 8.8.{i}.0/24 blackhole;" for i in range(5))
# E's router does not prepend its own ASN (`rs client` on its side): the path starts with 3333.
E_ROUTES4 = f"\troute 62.115.0.0/24 blackhole {{ {prepend(3333)} }};"


def desired(config_dir: Path) -> DesiredConfig:
    server = RouteServer(
        name="rs-lab",
        asn=RS_ASN,
        router_id=ip.IPv4Address(RS4),
        ipv4=ip.IPv4Address(RS4),
        ipv6=ip.IPv6Address(RS6),
        ipv4_prefix=ip.IPv4Network(LAN4),
        ipv6_prefix=ip.IPv6Network(LAN6),
        config_dir=str(config_dir),
        # retry 5 s: a dial that fails anyway (a slow start) is tried again within the wait.
        validators=(RpkiValidator("lab", ip.IPv4Address("127.0.0.1"), RTR_PORT, 60, 5, 600),),
        policy=Policy(import_limit_action="restart"),
        never_via_route_servers=(NEVER_VIA_RS,),
    )
    return DesiredConfig(server=server, peers=(A, B, C, D, E))


def proto(peer: Peer, family: int = 4) -> str:
    return next(p for p in peer_protocols(peer) if p.endswith(f"_v{family}"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    require_tools()
    workdir = tmp_path_factory.mktemp("birdlab")
    config_dir = workdir / "rs"
    files = render(desired(config_dir))
    for name, text in files.items():
        (config_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (config_dir / name).write_text(text)
    host_conf = workdir / "rs-bird.conf"
    host_conf.write_text(
        render_host_config(desired(config_dir).server, log_file=str(workdir / "rs.log"))
    )
    roas = workdir / "roas.json"
    roas.write_text(json.dumps({"roas": ROAS}))

    with Lab(workdir) as lab:
        rs_ns = lab.namespace("rs")
        lab.bridge(rs_ns, [f"{RS4}/24", f"{RS6}/64"])
        lab.stayrtr(rs_ns, roas, RTR_PORT)
        for name, peer in {"a": A, "b": B, "c": C, "d": D, "e": E}.items():
            ns = lab.namespace(name)
            addresses = [f"{peer.ipv4}/24"] + ([f"{peer.ipv6}/64"] if peer.ipv6 else [])
            lab.attach(ns, rs_ns, addresses)
        rs = lab.bird_from("rs", rs_ns, host_conf)
        wait_for("the RTR session to StayRTR", lambda: rs.established("ztix_rpki_lab"), 20)
        lab.bird("a", f"{lab.tag}-a", member_config(A, A_ROUTES4, A_ROUTES6))
        lab.bird("b", f"{lab.tag}-b", member_config(B, B_ROUTES4))
        lab.bird("c", f"{lab.tag}-c", member_config(C, ""))
        lab.bird("d", f"{lab.tag}-d", member_config(D, D_ROUTES4))
        lab.bird("e", f"{lab.tag}-e", member_config(E, E_ROUTES4, rs_client=True))
        sessions = [name for peer in (A, B, C, E) for name in peer_protocols(peer)]
        wait_for(
            "the members' sessions Established",
            lambda: all(rs.established(name) for name in sessions),
            30,
        )
        yield lab


def rs(lab: Lab) -> Bird:
    return lab.birds["rs"]


def route_block(output: str, prefix: str) -> str:
    """The lines of `show route ... all` output that belong to ``prefix``."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(prefix + " "):
            block = [line]
            for follow in lines[i + 1 :]:
                if follow and not follow[0].isspace():
                    break
                block.append(follow)
            return "\n".join(block)
    return ""


def large_communities(block: str) -> set[tuple[int, ...]]:
    found = re.search(r"BGP\.large_community:\s*(.*)", block)
    if not found:
        return set()
    return {tuple(map(int, m)) for m in re.findall(r"\((\d+), (\d+), (\d+)\)", found.group(1))}


def show_route(bird: Bird, prefix: str, *options: str) -> str:
    """One prefix (exact match) from `show route ... all`; "" when absent."""
    family = 6 if ":" in prefix else 4
    table = [] if bird.name != "rs" else ["table", f"ztix_rs{family}"]
    out = bird.birdc("show", "route", prefix, *table, *options, "all", check=False)
    return route_block(out, prefix)


def accepted(lab: Lab, prefix: str) -> str:
    return show_route(rs(lab), prefix)


def filtered(lab: Lab, prefix: str) -> str:
    return show_route(rs(lab), prefix, "filtered")


def reject_reason(lab: Lab, prefix: str) -> int:
    """Wait for ``prefix`` among the route server's filtered routes; its reject-reason code."""
    block = wait_for(f"{prefix} among the filtered routes", lambda: filtered(lab, prefix), 20)
    codes = [
        c for asn, fn, c in large_communities(block) if asn == RS_ASN and fn == REJECT_FUNCTION
    ]
    assert len(codes) == 1, block
    assert not accepted(lab, prefix), f"{prefix} is both accepted and filtered"
    return codes[0]


# ----------------------------------------------------------------------------- import policy


def test_rpki_valid_route_is_accepted_and_tagged_valid(lab: Lab) -> None:
    block = wait_for("193.0.0.0/21 accepted", lambda: accepted(lab, "193.0.0.0/21"), 20)
    assert (RS_ASN, 1000, RpkiInfo.VALID) in large_communities(block)
    assert "BGP.next_hop: 192.0.2.10" in block
    assert f"[{proto(A)} " in block


def test_rpki_unknown_route_is_accepted_and_tagged_unknown(lab: Lab) -> None:
    block = wait_for("193.0.10.0/24 accepted", lambda: accepted(lab, "193.0.10.0/24"), 20)
    assert (RS_ASN, 1000, RpkiInfo.UNKNOWN) in large_communities(block)


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        ("193.0.8.0/23", RejectReason.RPKI_INVALID),
        ("203.0.113.0/24", RejectReason.BOGON),
        ("193.0.12.0/25", RejectReason.PREFIX_LENGTH),
        ("193.0.14.0/24", RejectReason.NEXT_HOP_NOT_PEER),
        ("193.0.16.0/24", RejectReason.INVALID_ASN_IN_PATH),
        ("193.0.18.0/24", RejectReason.NEVER_VIA_ROUTE_SERVERS),
        ("193.0.20.0/24", RejectReason.AS_PATH_TOO_LONG),
        ("62.115.0.0/24", RejectReason.FIRST_AS_NOT_PEER),
        ("1.1.1.0/24", RejectReason.PREFIX_NOT_IN_IRR),
        ("104.17.0.0/24", RejectReason.ORIGIN_NOT_IN_IRR),
        ("2001:db8:1::/48", RejectReason.BOGON),
    ],
)
def test_refused_routes_are_kept_with_their_reason(lab: Lab, prefix: str, reason: int) -> None:
    assert reject_reason(lab, prefix) == reason


def test_the_kept_route_is_the_one_received(lab: Lab) -> None:
    block = wait_for("62.115.0.0/24 filtered", lambda: filtered(lab, "62.115.0.0/24"), 20)
    assert "BGP.as_path: 3333" in block
    block = wait_for("193.0.14.0/24 filtered", lambda: filtered(lab, "193.0.14.0/24"), 20)
    assert "BGP.next_hop: 192.0.2.99" in block


def test_ipv6_valid_route_is_accepted(lab: Lab) -> None:
    block = wait_for("2001:67c:2e8::/48 accepted", lambda: accepted(lab, "2001:67c:2e8::/48"), 20)
    assert (RS_ASN, 1000, RpkiInfo.VALID) in large_communities(block)
    assert f"BGP.next_hop: {A.ipv6}" in block


def test_irr_checked_route_is_accepted_and_tagged(lab: Lab) -> None:
    block = wait_for("104.16.0.0/24 accepted", lambda: accepted(lab, "104.16.0.0/24"), 20)
    assert {(RS_ASN, 1001, IrrInfo.ORIGIN_IN_AS_SET), (RS_ASN, 1001, IrrInfo.PREFIX_IN_AS_SET)} <= (
        large_communities(block)
    )
    block = wait_for("193.0.0.0/21 accepted", lambda: accepted(lab, "193.0.0.0/21"), 20)
    assert {
        (RS_ASN, 1001, IrrInfo.ORIGIN_NOT_CHECKED),
        (RS_ASN, 1001, IrrInfo.PREFIX_NOT_CHECKED),
    } <= (large_communities(block))


def test_forged_zt_ix_tags_are_scrubbed_on_import(lab: Lab) -> None:
    # B sent (RS_ASN, 65520, 2) itself: that must not make the route look refused.
    block = wait_for("104.23.0.0/24 accepted", lambda: accepted(lab, "104.23.0.0/24"), 20)
    assert (RS_ASN, REJECT_FUNCTION, 2) not in large_communities(block)
    assert (65000, 1, 1) in large_communities(block)


def test_import_limit_takes_the_session_down(lab: Lab) -> None:
    name = proto(D)
    out = wait_for(
        f"{name} to hit its import limit",
        lambda: (
            "Route limit exceeded" in (o := rs(lab).birdc("show", "protocols", "all", name)) and o
        ),
        30,
    )
    assert not rs(lab).established(name), out
    assert not show_route(rs(lab), "8.8.0.0/24")


# ------------------------------------------------------------------------------------ export


def received(lab: Lab, member: str, prefix: str) -> str:
    return show_route(lab.birds[member], prefix)


@pytest.mark.parametrize(
    ("prefix", "reaches", "not_reaches"),
    [
        ("104.18.0.0/24", "a", "c"),  # 0:3320
        ("104.19.0.0/24", "a", "c"),  # RS:0:3320
        ("104.20.0.0/24", "c", "a"),  # RS:0:213035 (32-bit peer: large form only)
        ("104.21.0.0/24", "c", "a"),  # RS:0:0 + RS:1:3320
        ("104.22.0.0/24", "c", "a"),  # 0:RS + RS:3320
    ],
)
def test_export_control_communities(lab: Lab, prefix: str, reaches: str, not_reaches: str) -> None:
    peers = {"a": A, "c": C}
    # The route server's own view, which evaluates each export filter now.
    assert show_route(rs(lab), prefix, "export", proto(peers[reaches]))
    assert not show_route(rs(lab), prefix, "export", proto(peers[not_reaches]))
    assert show_route(rs(lab), prefix, "noexport", proto(peers[not_reaches]))
    # And what the members' routers really hold.
    block = wait_for(f"{prefix} at {reaches}", lambda: received(lab, reaches, prefix), 20)
    wait_for(
        f"B's routes at {not_reaches}", lambda: received(lab, not_reaches, "104.16.0.0/24"), 20
    )
    assert not received(lab, not_reaches, prefix)
    # ZT-IX's control, reject and informational communities are gone; the member's stay.
    assert not [c for c in large_communities(block) if c[0] == RS_ASN], block
    assert not re.search(rf"BGP\.community:.*\((0|{RS_ASN}), \d+\)", block), block


def test_receivers_get_routes_unchanged(lab: Lab) -> None:
    block = wait_for("193.0.0.0/21 at C", lambda: received(lab, "c", "193.0.0.0/21"), 20)
    assert "BGP.as_path: 213035\n" in block + "\n"  # the route server adds no AS
    assert "BGP.next_hop: 192.0.2.10" in block  # and keeps the member's next hop
    block = wait_for("104.23.0.0/24 at A", lambda: received(lab, "a", "104.23.0.0/24"), 20)
    assert large_communities(block) == {(65000, 1, 1)}


def test_refused_routes_reach_nobody(lab: Lab) -> None:
    wait_for("A's routes at C", lambda: received(lab, "c", "193.0.0.0/21"), 20)
    for prefix in ("193.0.8.0/23", "203.0.113.0/24", "193.0.14.0/24", "62.115.0.0/24"):
        assert not received(lab, "c", prefix), prefix
        assert not received(lab, "b", prefix), prefix


# ------------------------------------------------------------------------------- RPKI reload


def test_roa_change_refilters_routes_already_accepted(lab: Lab) -> None:
    assert wait_for("193.0.22.0/24 accepted", lambda: accepted(lab, "193.0.22.0/24"), 20)
    roas = lab.workdir / "roas.json"
    tmp = roas.with_suffix(".tmp")
    tmp.write_text(json.dumps({"roas": [*ROAS, LATE_ROA]}))
    tmp.replace(roas)  # StayRTR re-reads the file every second and notifies BIRD
    assert reject_reason(lab, "193.0.22.0/24") == RejectReason.RPKI_INVALID
    wait_for("the withdrawal at C", lambda: not received(lab, "c", "193.0.22.0/24"), 20)


# ------------------------------------------------------------------- reconfigure: "tag" policy


def test_tag_policy_keeps_invalid_routes_but_never_exports_them(lab: Lab) -> None:
    """Runs last: re-renders with rpki_invalid = "tag" and reconfigures the running BIRD."""
    config_dir = lab.workdir / "rs"
    base = desired(config_dir)
    tagged = DesiredConfig(
        dataclasses.replace(base.server, policy=Policy(rpki_invalid="tag")), base.peers
    )
    for name, text in render(tagged).items():
        (config_dir / name).write_text(text)
    out = rs(lab).birdc("configure", f'"{lab.workdir / "rs-bird.conf"}"')
    assert "Reconfigured" in out, out
    block = wait_for("193.0.8.0/23 accepted", lambda: accepted(lab, "193.0.8.0/23"), 20)
    assert (RS_ASN, 1000, RpkiInfo.INVALID) in large_communities(block)
    assert not filtered(lab, "193.0.8.0/23")
    assert not show_route(rs(lab), "193.0.8.0/23", "export", proto(C))
    assert show_route(rs(lab), "193.0.8.0/23", "noexport", proto(C))
    assert not received(lab, "c", "193.0.8.0/23")
