"""IRR filtering live: real IRRd → bgpq4 → the database → rendered BIRD filters → a real
BIRD route server, with a member BIRD announcing IRR-valid and IRR-invalid routes.

The member (AS211101, AS-SET AS-ZTIXA from tests/support/irr_data.py) sits on a bridged
peering LAN in network namespaces; StayRTR serves one ROA so "RPKI-valid counts as
IRR-valid" is exercised too. Every outcome is read from the route server's own
``birdc show route [filtered] ... all``, reject-reason community included. Then the IRR goes
down: the refresh fails, the stored data and so the rendered filter stay as they were.
"""

from __future__ import annotations

import ipaddress as ip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import irr_data as d
from tests.support.app import make_settings
from tests.support.birdlab import Bird, Lab, require_tools
from tests.support.irrd import IrrdServer
from tests.support.services import free_port
from tests.support.waiting import wait_for
from ztix.db import migrate
from ztix.db.models import IrrData, PeeringDBNetwork
from ztix.db.session import Database
from ztix.routeserver.model import DesiredConfig, Peer, Policy, RouteServer, RpkiValidator
from ztix.routeserver.policy_data import REJECT_FUNCTION, IrrInfo, RejectReason
from ztix.routeserver.render import peer_protocols, render, render_host_config
from ztix.workflow import irr as irr_data
from ztix.workflow.routeserver_desired import peer_with_irr

RS_ASN = 6777
RTR_PORT = 3323
LAN4, LAN6 = "192.0.2.0/24", "2001:db8:ab::/64"
RS4, RS6 = "192.0.2.1", "2001:db8:ab::1"
MEMBER = Peer(
    "m",
    d.A,
    "a1a1a1a1a1",
    ip.IPv4Address("192.0.2.10"),
    ip.IPv6Address("2001:db8:ab::10"),
    100,
    100,
)
ROAS = [{"prefix": "185.9.0.0/24", "maxLength": 24, "asn": f"AS{d.A}"}]

# (prefix, statements on the route, expected: reject reason or informational IRR code)
CASES4 = [
    ("185.1.0.0/22", "", IrrInfo.PREFIX_IN_AS_SET),  # A's own route object
    ("185.1.1.0/24", "", IrrInfo.PREFIX_IN_AS_SET),  # a more-specific of it, up to /24
    ("185.1.4.0/24", f"bgp_path.prepend({d.A_CUSTOMER});", IrrInfo.PREFIX_IN_AS_SET),  # customer
    ("185.2.0.0/24", "", RejectReason.PREFIX_NOT_IN_IRR),  # no route object
    ("185.1.8.0/24", "bgp_path.prepend(3320);", RejectReason.ORIGIN_NOT_IN_IRR),  # wrong origin
    ("185.9.0.0/24", "", IrrInfo.VALID_VIA_RPKI),  # no route object, but RPKI-valid
]
CASES6 = [
    ("2a0e:1000::/32", "", IrrInfo.PREFIX_IN_AS_SET),
    ("2a0e:2000::/32", "", RejectReason.PREFIX_NOT_IN_IRR),
]


def static(cases: list[tuple[str, str, int]]) -> str:
    return "\n".join(
        f"\troute {p} blackhole{f' {{ {extra} }}' if extra else ''};" for p, extra, _ in cases
    )


def member_config() -> str:
    timers = "connect delay time 1; connect retry time 1; error wait time 1, 2;"
    return f"""
router id {MEMBER.ipv4};
protocol device {{ }}
protocol static s4 {{ ipv4; {static(CASES4)}
}}
protocol static s6 {{ ipv6; {static(CASES6)}
}}
protocol bgp rs_v4 {{ local {MEMBER.ipv4} as {MEMBER.asn}; neighbor {RS4} as {RS_ASN}; {timers}
	ipv4 {{ import all; export all; }}; }}
protocol bgp rs_v6 {{ local {MEMBER.ipv6} as {MEMBER.asn}; neighbor {RS6} as {RS_ASN}; {timers}
	ipv6 {{ import all; export all; }}; }}
"""


def desired(config_dir: Path, member: Peer) -> DesiredConfig:
    server = RouteServer(
        name="rs-irr",
        asn=RS_ASN,
        router_id=ip.IPv4Address(RS4),
        ipv4=ip.IPv4Address(RS4),
        ipv6=ip.IPv6Address(RS6),
        ipv4_prefix=ip.IPv4Network(LAN4),
        ipv6_prefix=ip.IPv6Network(LAN6),
        config_dir=str(config_dir),
        validators=(RpkiValidator("lab", ip.IPv4Address("127.0.0.1"), RTR_PORT, 60, 5, 600),),
        policy=Policy(),  # the defaults: reject, RPKI-valid counts, more-specifics to /24
    )
    return DesiredConfig(server=server, peers=(member,))


class Live:
    def __init__(self, lab: Lab, database: Database, irrd: IrrdServer, config_dir: Path):
        self.lab, self.database, self.irrd, self.config_dir = lab, database, irrd, config_dir
        self.files: dict[str, str] = {}

    @property
    def rs(self) -> Bird:
        return self.lab.birds["rs"]

    def member(self) -> Peer:
        with self.database.read_session() as db:
            return peer_with_irr(MEMBER, db.get(IrrData, d.A))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, irrd: IrrdServer) -> Iterator[Live]:
    require_tools()
    workdir = tmp_path_factory.mktemp("irrlab")
    url = f"sqlite:///{workdir / 'ztix.sqlite3'}"
    migrate.upgrade(url)
    database = Database(url)
    with database.session() as db:
        db.add(PeeringDBNetwork(asn=d.A, found=True, name="A", irr_as_set="TEST::AS-ZTIXA"))
    settings = make_settings(url, irr={"enabled": True, "server": irrd.host, "sources": ["TEST"]})
    assert irr_data.refresh(database, settings, asns=[d.A]).changed == [d.A]

    config_dir = workdir / "rs"
    state = Live(Lab(workdir), database, irrd, config_dir)
    state.files = render(desired(config_dir, state.member()))
    for name, text in state.files.items():
        (config_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (config_dir / name).write_text(text)
    host_conf = workdir / "rs-bird.conf"
    host_conf.write_text(
        render_host_config(desired(config_dir, MEMBER).server, log_file=str(workdir / "rs.log"))
    )
    roas = workdir / "roas.json"
    roas.write_text(json.dumps({"roas": ROAS}))
    with state.lab as lab:
        rs_ns = lab.namespace("rs")
        lab.bridge(rs_ns, [f"{RS4}/24", f"{RS6}/64"])
        lab.stayrtr(rs_ns, roas, RTR_PORT)
        ns = lab.namespace("m")
        lab.attach(ns, rs_ns, [f"{MEMBER.ipv4}/24", f"{MEMBER.ipv6}/64"])
        rs = lab.bird_from("rs", rs_ns, host_conf)
        wait_for("the RTR session to StayRTR", lambda: rs.established("ztix_rpki_lab"), 20)
        lab.bird("m", ns, member_config())
        wait_for(
            "the member's sessions Established",
            lambda: all(rs.established(p) for p in peer_protocols(MEMBER)),
            30,
        )
        yield state
    database.dispose()


def route(bird: Bird, prefix: str, *options: str) -> str:
    family = 6 if ":" in prefix else 4
    out = bird.birdc(
        "show", "route", prefix, "table", f"ztix_rs{family}", *options, "all", check=False
    )
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(prefix + " "):
            block = [line]
            for follow in lines[i + 1 :]:
                if follow and not follow[0].isspace():
                    break
                block.append(follow)
            return "\n".join(block)
    return ""


def large(block: str) -> set[tuple[int, ...]]:
    found = re.search(r"BGP\.large_community:\s*(.*)", block)
    if not found:
        return set()
    return {tuple(map(int, m)) for m in re.findall(r"\((\d+), (\d+), (\d+)\)", found.group(1))}


@pytest.mark.parametrize(("prefix", "extra", "expected"), CASES4 + CASES6)
def test_routes_are_filtered_on_the_members_irr_data(
    live: Live, prefix: str, extra: str, expected: int
) -> None:
    if isinstance(expected, RejectReason):
        block = wait_for(f"{prefix} filtered", lambda: route(live.rs, prefix, "filtered"), 20)
        assert (RS_ASN, REJECT_FUNCTION, expected) in large(block), block
        assert not route(live.rs, prefix)
    else:
        block = wait_for(f"{prefix} accepted", lambda: route(live.rs, prefix), 20)
        assert (RS_ASN, 1001, expected) in large(block), block


def test_irr_down_keeps_the_filter_and_shows_the_failure(live: Live) -> None:
    down = make_settings(
        live.database.url,
        irr={"enabled": True, "server": f"127.0.0.1:{free_port()}", "sources": ["TEST"]},
    )
    report = irr_data.refresh(live.database, down, asns=[d.A])
    assert report.failed == {d.A: "irr_query_failed"} and report.changed == []
    # The same filter is rendered: nothing for the route server to change.
    assert render(desired(live.config_dir, live.member())) == live.files
    with live.database.read_session() as db:
        row = db.get(IrrData, d.A)
        assert row is not None and row.last_error_code == "irr_query_failed"
        assert row.prefixes_ipv4 == sorted(d.A_V4 + d.A_CUSTOMER_V4, key=ip.ip_network)
    # And the route server still filters as before.
    assert route(live.rs, "185.1.0.0/22")
    assert route(live.rs, "185.2.0.0/24", "filtered")
