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
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.app import NWID, AppFactory, create_user, login
from tests.support.birdlab import Bird, Lab, run
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
from ztix.config import RouteServerConfig, RouteServersConfig
from ztix.db.models import AddressAssignment, IxNetwork, JoinRequest, RouteServerPeer, User
from ztix.db.session import Database
from ztix.routeserver import status
from ztix.routeserver.apply import ProtocolState, parse_protocols
from ztix.routeserver.metrics import SessionRoutes
from ztix.routeserver.model import (
    Blackholing,
    DesiredConfig,
    Peer,
    Policy,
    RouteServer,
    RpkiValidator,
)
from ztix.routeserver.peer_groups import group_file, member_section, peer_group
from ztix.routeserver.policy_data import (
    BLACKHOLE,
    GRACEFUL_SHUTDOWN,
    NO_EXPORT,
    REJECT_FUNCTION,
    RejectReason,
)
from ztix.routeserver.render import peer_protocols
from ztix.routeserver.status import limit_tripped
from ztix.routeserver.transport import BirdcReply, RouteServerTransport
from ztix.workflow import lookingglass

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
# Receive limit 3 (action block), import limit 100: 5 routes sent, 2 of them refused.
D = Peer(
    "d",
    15169,
    "d0d0d0d0d0",
    ip.IPv4Address("192.0.2.40"),
    None,
    100,
    100,
    receive_limit_ipv4=3,
    receive_limit_ipv6=3,
)
# Import limit 2 (action block in this lab) with no receive limit: 4 routes sent.
E = Peer("e", 1299, "e0e0e0e0e0", ip.IPv4Address("192.0.2.50"), None, 2, 100)
PASSWORD = "s3cret.MD5-key_42"
G = Peer("g", 8075, "0808080808", ip.IPv4Address("192.0.2.80"), None, 100, 100, password=PASSWORD)
H = Peer("h", 16509, "1616161616", ip.IPv4Address("192.0.2.90"), None, 100, 100, password=PASSWORD)

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
D_ROUTES = routes(*((f"8.8.{i}.0/24", "") for i in range(4)), ("10.0.0.0/8", ""))
E_ROUTES = routes(*((f"62.115.{i}.0/24", "") for i in range(4)))
G_ROUTES = routes(("13.64.0.0/11", ""))
H_ROUTES = routes(("52.94.0.0/22", ""))


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
        policy=Policy(import_limit_action="block", receive_limit_action="block"),
        blackholing=Blackholing(True, BLACKHOLE_NH, None),
    )
    peers = (A, B, F, C, D, E, G, H)
    return DesiredConfig(dataclasses.replace(rs, **server), peers)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("rsfeat")
    members = {
        "a": (A, member_config(A, RS4, A_ROUTES)),
        "b": (B, member_config(B, RS4, B_ROUTES)),
        "f": (F, member_config(F, RS4, F_ROUTES)),
        "c": (C, member_config(C, RS4, "")),
        "d": (D, member_config(D, RS4, D_ROUTES)),
        "e": (E, member_config(E, RS4, E_ROUTES)),
        "g": (G, member_config(G, RS4, G_ROUTES, password=PASSWORD)),
        "h": (H, member_config(H, RS4, H_ROUTES, password="not-the-right-one")),
    }
    up = [proto(p) for p in (A, B, F, C, D, E, G)]  # H's password is wrong
    rs_desired = desired(str(workdir / "rs"))
    with feature_lab(workdir, rs_desired, members, ROAS, RTR_PORT, established=up) as lab:
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


# --------------------------------------------------------------------------------------- limits


def protocol_state(lab: Lab, peer: Peer) -> ProtocolState:
    """The route server's session to ``peer``, parsed by ZT-IX's own status parser from
    real `birdc -v show protocols all` output."""
    done = run("birdc", "-v", "-s", str(rs(lab).socket), "show", "protocols", "all", proto(peer))
    return parse_protocols(BirdcReply(done.returncode, done.stdout))[proto(peer)]


def test_receive_limit_counts_routes_before_filtering(lab: Lab) -> None:
    state = wait_for(
        "D's receive limit to trip",
        lambda: (p := protocol_state(lab, D)).channels["ipv4"].receive_limit_hit and p,
        20,
    )
    channel = state.channels["ipv4"]
    assert channel.receive_limit == 3 and channel.import_limit == 100
    assert not channel.import_limit_hit
    assert state.bgp_state == "Established"  # action block: the session stays up
    # 3 routes received and judged (accepted or filtered); the other 2 dropped unseen.
    assert channel.imported + channel.filtered == 3, channel
    assert limit_tripped(state) == "receive"


def test_import_limit_counts_accepted_routes(lab: Lab) -> None:
    state = wait_for(
        "E's import limit to trip",
        lambda: (p := protocol_state(lab, E)).channels["ipv4"].import_limit_hit and p,
        20,
    )
    channel = state.channels["ipv4"]
    assert channel.import_limit == 2 and channel.receive_limit is None
    assert channel.imported == 2, channel
    assert limit_tripped(state) == "import"
    assert limit_tripped(protocol_state(lab, C)) is None


# ---------------------------------------------------------------------------- TCP MD5 password


def test_the_session_with_the_right_password_comes_up(lab: Lab) -> None:
    assert rs(lab).established(proto(G))
    block = at(lab, "c", "13.64.0.0/11")
    assert f"BGP.next_hop: {G.ipv4}" in block


def test_a_wrong_password_keeps_the_session_down(lab: Lab) -> None:
    at(lab, "c", "13.64.0.0/11")  # G, configured the same way, is up by now
    assert not rs(lab).established(proto(H))
    assert not show_route(lab.birds["c"], "52.94.0.0/22")
    name = group_file(peer_group(proto(H)[:-3]))
    section = member_section({name: (lab.workdir / "rs" / name).read_text()}, proto(H)[:-3])
    assert section is not None and 'password "' + PASSWORD + '";' in section


# ------------------------------------------- reconfigured while running (last: they reload)


def test_without_blackholing_a_blackhole_is_an_ordinary_too_long_route(lab: Lab) -> None:
    """Switches blackholing off on the running server, and back on. A reconfigure reloads the
    channels (limits counted afresh), so these tests run last."""
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


# ------------------------------------------------------------- looking glass (API + /metrics)


@pytest.fixture
def lg_client(lab: Lab, make_client: AppFactory, database: Database) -> Iterator[TestClient]:
    """The API, with the lab's route server as its (local) route server, and member A's
    request active on it."""
    lookingglass.forget()
    status.forget()
    server = {
        "name": "rs-feat",
        "transport": "local",
        "birdc": "birdc",
        "birdc_socket": str(rs(lab).socket),
        "asn": RS_ASN,
        "router_id": RS4,
        "network": NWID,
        "ipv4": RS4,
        "ipv6": "2001:db8:ab::1",
    }
    client = make_client(
        routeservers={
            "servers": [server],
            "looking_glass_queries_per_user": {"attempts": 6, "window_seconds": 60},
        }
    )
    create_user(database, "alice", asns=(A.asn,))
    create_user(database, "bob", asns=(C.asn,))
    create_user(database, "root", admin=True)
    with database.session() as db:
        owner = db.scalar(select(User).where(User.username == "alice"))
        network = db.scalar(select(IxNetwork).where(IxNetwork.zt_network_id == NWID))
        assert owner is not None and network is not None
        request = JoinRequest(
            asn=A.asn,
            node_id=A.node_id,
            network_id=network.id,
            status="active",
            zt_authorized=True,
            created_by_id=owner.id,
        )
        db.add(request)
        db.flush()
        db.add(
            AddressAssignment(
                network_id=network.id,
                request_id=request.id,
                family=4,
                address=str(A.ipv4),
                asn=A.asn,
            )
        )
        db.add(
            RouteServerPeer(
                server="rs-feat",
                request_id=request.id,
                asn=A.asn,
                max_prefix_ipv4=100,
                max_prefix_ipv6=100,
                max_prefix_source="default (no data)",
                applied=True,
            )
        )
        db.commit()
        client.headers["X-Test-Request"] = str(request.id)
    yield client
    lookingglass.forget()


def lg_url(client: TestClient, tail: str) -> str:
    rid = client.headers["X-Test-Request"]
    return f"/api/v1/requests/{rid}/looking-glass/rs-feat/{proto(A)}/{tail}"


def test_looking_glass_filtered_routes_with_reasons(lg_client: TestClient) -> None:
    alice = login(lg_client, "alice")
    page = alice.get(lg_url(lg_client, "routes"), params={"kind": "filtered"}).json()
    reasons = {r["prefix"]: r["filtered_reasons"] for r in page["routes"]}
    assert reasons["8.8.8.8/32"] == ["blackhole for a prefix the member is not entitled to"]
    assert reasons["193.0.17.0/25"] == [
        "prefix length outside the allowed range (too long or too short)"
    ]
    assert page["total"] == 3 and all(r["from_protocol"] == proto(A) for r in page["routes"])
    # Paging: one at a time, in prefix order.
    first = alice.get(lg_url(lg_client, "routes"), params={"kind": "filtered", "limit": 1})
    second = alice.get(
        lg_url(lg_client, "routes"), params={"kind": "filtered", "limit": 1, "offset": 1}
    )
    assert [r["prefix"] for r in first.json()["routes"] + second.json()["routes"]] == [
        "8.8.8.8/32",
        "193.0.1.1/32",
    ]


def test_looking_glass_accepted_exported_and_lookup(lg_client: TestClient) -> None:
    alice = login(lg_client, "alice")
    accepted = alice.get(lg_url(lg_client, "routes"), params={"kind": "accepted"}).json()
    by_prefix = {r["prefix"]: r for r in accepted["routes"]}
    assert by_prefix["193.0.16.1/32"]["blackhole"] and by_prefix["193.0.16.1/32"]["rpki"] == "valid"
    assert by_prefix["185.1.0.0/24"]["graceful_shutdown"]
    exported = alice.get(lg_url(lg_client, "routes"), params={"kind": "exported"}).json()
    sent = {r["prefix"]: r for r in exported["routes"]}
    assert "104.16.0.1/32" in sent and "193.0.10.0/24" not in sent  # B's, not A's own
    looked = alice.get(lg_url(lg_client, "lookup"), params={"prefix": "193.0.0.0/21"}).json()
    assert [r["local_pref"] for r in looked["accepted"]] == [0]
    assert looked["filtered"] == []
    # The best path, F's, is what the route server sends A for this prefix.
    assert [(r["from_protocol"], r["next_hop"]) for r in looked["exported"]] == [
        (proto(F), str(F.ipv4))
    ]
    bad = alice.get(lg_url(lg_client, "lookup"), params={"prefix": "193.0.0.0/21; show"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_prefix")


def test_looking_glass_is_for_the_member_and_admins(lg_client: TestClient) -> None:
    bob = login(lg_client, "bob")
    assert bob.get(lg_url(lg_client, "routes")).json()["code"] == "request_not_found"
    admin = login(lg_client, "root")
    assert admin.get(lg_url(lg_client, "routes")).status_code == 200
    other = lg_url(lg_client, "routes").replace(proto(A), proto(C))
    assert admin.get(other).json()["code"] == "not_found"  # not this request's session


def test_admin_reaches_any_members_looking_glass_from_the_route_servers(
    lg_client: TestClient,
) -> None:
    """The admin route-servers listing names the request behind each member session (what
    the admin page opens the looking glass with); sessions of no recorded request have none."""
    admin = login(lg_client, "root")
    [server] = admin.get("/api/v1/admin/route-servers", params={"sessions": True}).json()
    by_protocol = {s["protocol"]: s for s in server["sessions"]}
    rid = lg_client.headers["X-Test-Request"]
    assert by_protocol[proto(A)]["request_id"] == rid
    assert by_protocol[proto(A)]["filtered"] == 3
    assert by_protocol[proto(C)]["request_id"] is None
    one = admin.get("/api/v1/admin/route-servers/rs-feat").json()
    assert {s["protocol"]: s["request_id"] for s in one["sessions"]}[proto(A)] == rid
    url = f"/api/v1/requests/{rid}/looking-glass/rs-feat/{proto(A)}/routes"
    page = admin.get(url, params={"kind": "filtered"}).json()
    assert {r["prefix"] for r in page["routes"]} == {"8.8.8.8/32", "193.0.1.1/32", "193.0.17.0/25"}


def test_looking_glass_queries_are_cached_and_throttled(lg_client: TestClient) -> None:
    alice = login(lg_client, "alice")
    for _ in range(10):  # one route-server query, then the cache
        assert alice.get(lg_url(lg_client, "routes")).status_code == 200
    for kind in ("accepted", "exported"):
        assert alice.get(lg_url(lg_client, "routes"), params={"kind": kind}).status_code == 200
    codes = [
        alice.get(lg_url(lg_client, "lookup"), params={"prefix": f"193.0.{i}.0/24"}).status_code
        for i in range(3)
    ]
    # 6 queries per window: filtered, accepted, exported, then 3 per lookup.
    assert codes[0] == 200 and codes[1] == 429


def metrics_config(lab: Lab, cache_seconds: float) -> RouteServersConfig:
    return RouteServersConfig(
        servers=(
            RouteServerConfig(
                name="rs-feat",
                transport="local",
                birdc="birdc",
                birdc_socket=rs(lab).socket,
                asn=RS_ASN,
                router_id=ip.IPv4Address(RS4),
                network=NWID,
                ipv4=ip.IPv4Address(RS4),
                ipv6=ip.IPv6Address("2001:db8:ab::1"),
            ),
        ),
        status_cache_seconds=cache_seconds,
    )


def test_metrics_export_per_member_route_counts(lab: Lab) -> None:
    status.forget()
    families = {m.name: m for m in SessionRoutes(metrics_config(lab, 0)).collect()}
    samples = {
        (s.labels["asn"], s.labels["kind"]): s.value
        for s in families["ztix_route_server_session_routes"].samples
    }
    assert samples[(str(A.asn), "filtered")] == 3
    assert samples[(str(A.asn), "accepted")] >= 4
    up = {
        s.labels["asn"]: s.value for s in families["ztix_route_server_session_established"].samples
    }
    assert up[str(A.asn)] == 1 and up[str(H.asn)] == 0


def test_metrics_scrapes_read_each_route_server_once_per_cache_window(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scrape reads `show protocols all` once per route server (not per member), and
    scrapes within ``status_cache_seconds`` read nothing more."""
    reads: list[str] = []
    real = status.status

    def counted(transport: RouteServerTransport) -> dict[str, ProtocolState]:
        reads.append("show protocols all")
        return real(transport)

    monkeypatch.setattr(status, "status", counted)
    status.forget()
    collector = SessionRoutes(metrics_config(lab, 600))
    scrapes = [
        {
            (s.labels["asn"], s.labels["kind"]): s.value
            for m in collector.collect()
            if m.name == "ztix_route_server_session_routes"
            for s in m.samples
        }
        for _ in range(3)
    ]
    assert len(reads) == 1
    assert len({s[0] for s in scrapes[0]}) >= 7  # every member's session, from that one read
    assert scrapes[0] == scrapes[1] == scrapes[2]
    status.forget()
