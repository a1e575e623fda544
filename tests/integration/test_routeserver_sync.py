"""Route-server orchestration end to end on one machine: the controller emulator and two
real BIRD route servers on the local transport.

Approve → member authorized on the emulator → peer configured on both servers (in pair
order) → active; leave → peer gone from both; a failing server stops the round and fails
the waiting request with its host and stage; bursts of triggers fold.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.support.jobs import ADMIN, actions, load, submit
from tests.support.routeserver_apply import BIRDC, Bird, running_bird
from tests.support.zt_fixtures import QueueDispatcher, ix_networks
from ztix.config import Settings
from ztix.db.models import RouteServerPeer, RouteServerState
from ztix.db.session import Database
from ztix.jobs.tasks import JobContext, process_request, reconcile, sync_route_servers
from ztix.routeserver.model import RouteServer
from ztix.routeserver.peer_groups import member_section
from ztix.routeserver.render import render_host_config
from ztix.workflow import requests as service
from ztix.workflow.routeservers import gate_for
from ztix.zerotier.emulator import ControllerEmulator

SERVERS = [
    {
        "name": "rs1",
        "pair_order": 0,
        "router_id": "192.0.2.1",
        "ipv4": "192.0.2.1",
        "ipv6": "2001:db8:ab::1",
    },
    {
        "name": "rs2",
        "pair_order": 1,
        "router_id": "192.0.2.2",
        "ipv4": "192.0.2.2",
        "ipv6": "2001:db8:ab::2",
    },
]


def host_config(entry: dict[str, Any], root: Path) -> str:
    import ipaddress

    server = RouteServer(
        name=entry["name"],
        asn=213035,
        router_id=ipaddress.IPv4Address(entry["router_id"]),
        ipv4=ipaddress.IPv4Address(entry["ipv4"]),
        ipv6=ipaddress.IPv6Address(entry["ipv6"]),
        ipv4_prefix=ipaddress.IPv4Network("192.0.2.0/24"),
        ipv6_prefix=ipaddress.IPv6Network("2001:db8:ab::/64"),
        config_dir=str(root / "etc" / "ztix" / "live"),
    )
    return render_host_config(server, log_file=str(root / "bird.log"))


@pytest.fixture
def birds(tmp_path: Path) -> Iterator[dict[str, Bird]]:
    import shutil
    import tempfile

    roots = {e["name"]: Path(tempfile.mkdtemp(prefix=f"{e['name']}-", dir="/tmp")) for e in SERVERS}
    with ExitStack() as stack:
        running = {
            e["name"]: stack.enter_context(
                running_bird(roots[e["name"]], host_config(e, roots[e["name"]]))
            )
            for e in SERVERS
        }
        yield running
    for root in roots.values():
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def rs_settings(
    zt_settings: Callable[..., Settings], birds: dict[str, Bird], emulator: ControllerEmulator
) -> Callable[..., Settings]:
    def factory(
        *, blackholing: dict[str, Any] | None = None, **server_overrides: dict[str, Any]
    ) -> Settings:
        nets = ix_networks(emulator)
        if blackholing is not None:
            nets[0] = {**nets[0], "blackholing": blackholing}
        # No reserved_addresses: the route servers' own are reserved automatically.
        servers = []
        for entry in SERVERS:
            bird = birds[entry["name"]]
            servers.append(
                {
                    **entry,
                    "transport": "local",
                    "birdc": BIRDC,
                    "birdc_socket": str(bird.socket),
                    "config_dir": str(bird.config_dir),
                    "main_config": str(bird.main_config),
                    "asn": 6695,
                    "network": nets[0]["zt_network_id"],
                    "configure_timeout_seconds": 30,
                    **server_overrides.get(entry["name"], {}),
                }
            )
        return zt_settings(networks=nets, routeservers={"servers": servers})

    return factory


def context(job_context: Callable[..., JobContext], settings: Settings) -> JobContext:
    ctx = job_context(settings, QueueDispatcher())
    ctx.gate = gate_for(settings)
    ctx.controller_ready = True
    return ctx


def protocols(bird: Bird) -> set[str]:
    reply = bird.birdc("show", "protocols")
    return {line.split()[0] for code, line in reply.lines if code in (1002, 0) and line.strip()}


@pytest.mark.both_databases
def test_approve_to_active_on_two_servers_then_leave(
    rs_settings: Callable[..., Settings],
    job_context: Callable[..., JobContext],
    database: Database,
    birds: dict[str, Bird],
    emulator: ControllerEmulator,
) -> None:
    ctx = context(job_context, rs_settings())
    rid = submit(database, ctx.settings)
    assert not process_request(ctx, rid).done or load(database, rid).status == "provisioning"
    request = load(database, rid)
    assert request.status == "provisioning"  # authorized, waiting for the route servers
    assert request.zt_authorized is True
    assert ctx.dispatcher.route_server_syncs == 1  # type: ignore[attr-defined]
    outcomes = sync_route_servers(ctx)
    assert [(o.server, o.result) for o in outcomes] == [("rs1", "applied"), ("rs2", "applied")]
    assert load(database, rid).status == "active"
    names = {"AS213035_abcdef0123_v4", "AS213035_abcdef0123_v6"}
    for bird in birds.values():
        assert names <= protocols(bird)
    trail = actions(database, rid)
    assert trail[-2:] == ["provisioning.waiting_for_route_servers", "provisioning.succeeded"]
    with database.session() as db:
        states = {s.name: s for s in db.scalars(select(RouteServerState))}
        assert all(s.applied_hash == s.desired_hash for s in states.values())
        peers = db.scalars(select(RouteServerPeer)).all()
        assert {(p.server, p.applied) for p in peers} == {("rs1", True), ("rs2", True)}
        assert {p.max_prefix_source for p in peers} == {"default (no peeringdb data)"}
    # Nothing changed: a second round does not touch BIRD.
    assert [o.result for o in sync_route_servers(ctx)] == ["unchanged", "unchanged"]
    # Leaving takes the sessions off both servers.
    with database.session() as db:
        service.deprovision(db, rid, ADMIN)
    assert process_request(ctx, rid).done
    assert load(database, rid).status == "removed"
    sync_route_servers(ctx)
    for bird in birds.values():
        assert not names & protocols(bird)


def test_a_failing_server_stops_the_round_and_fails_the_request(
    rs_settings: Callable[..., Settings],
    job_context: Callable[..., JobContext],
    database: Database,
    birds: dict[str, Bird],
) -> None:
    settings = rs_settings(rs1={"birdc_socket": "/tmp/no-such-bird.ctl"})
    ctx = context(job_context, settings)
    rid = submit(database, ctx.settings)
    process_request(ctx, rid)
    outcomes = sync_route_servers(ctx)
    assert [(o.server, o.result) for o in outcomes] == [("rs1", "failed")]
    request = load(database, rid)
    assert request.status == "failed"
    assert request.last_error_code == "route_server_apply_failed"
    assert request.last_error_system == "route-server:rs1"
    assert "rs1" in (request.last_error_message or "")
    with database.session() as db:
        rs2 = db.get(RouteServerState, "rs2")
        assert rs2 is None or rs2.last_sync_at is None  # the pair's second server untouched
        rs1 = db.get(RouteServerState, "rs1")
        assert rs1 is not None and rs1.last_result == "failed" and rs1.last_stage
    assert not any(p.startswith("AS213035") for p in protocols(birds["rs2"]))


def test_a_rejected_config_is_undone_and_named(
    rs_settings: Callable[..., Settings],
    job_context: Callable[..., JobContext],
    database: Database,
    birds: dict[str, Bird],
) -> None:
    """BIRD refuses the configuration (here: rs1's host config includes a file that does
    not parse); the previous configuration keeps running and the request says where."""
    ctx = context(job_context, rs_settings())
    first = submit(database, ctx.settings, node="abcdef0001")
    process_request(ctx, first)
    sync_route_servers(ctx)
    assert load(database, first).status == "active"
    # Break rs1: its bird.conf now holds something BIRD refuses when it parses the set.
    bird = birds["rs1"]
    bird.main_config.write_text(bird.main_config.read_text() + "\nthis is not bird syntax;\n")
    second = submit(database, ctx.settings, node="abcdef0002")
    process_request(ctx, second)
    outcomes = sync_route_servers(ctx)
    assert outcomes[0].result == "failed" and outcomes[0].stage == "configure"
    request = load(database, second)
    assert request.status == "failed"
    assert "stage configure" in (request.last_error_message or "")
    assert "AS213035_abcdef0001_v4" in protocols(bird)  # the old config still runs
    assert "AS213035_abcdef0002_v4" not in protocols(bird)


@pytest.mark.both_databases
def test_triggers_fold_into_few_reconfigures(
    rs_settings: Callable[..., Settings],
    job_context: Callable[..., JobContext],
    database: Database,
) -> None:
    ctx = context(job_context, rs_settings())
    rids = [submit(database, ctx.settings, node=f"abcd00{i:04d}") for i in range(12)]
    for rid in rids:
        process_request(ctx, rid)
    # Twelve triggers, synced by four racing workers: far fewer reconfigures than triggers.
    threads = [threading.Thread(target=sync_route_servers, args=(ctx,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {load(database, r).status for r in rids} == {"active"}
    with database.session() as db:
        counts = {s.name: s.reconfigure_count for s in db.scalars(select(RouteServerState))}
    assert all(1 <= c <= 2 for c in counts.values()), counts


def test_reconciler_resyncs_a_server_that_is_behind(
    rs_settings: Callable[..., Settings],
    job_context: Callable[..., JobContext],
    database: Database,
) -> None:
    ctx = context(job_context, rs_settings())
    rid = submit(database, ctx.settings)
    process_request(ctx, rid)
    syncs = ctx.dispatcher.route_server_syncs  # type: ignore[attr-defined]
    assert reconcile(ctx)["route_servers_behind"] == 2
    assert ctx.dispatcher.route_server_syncs == syncs + 1  # type: ignore[attr-defined]
    sync_route_servers(ctx)
    assert reconcile(ctx)["route_servers_behind"] == 0


def test_a_changed_vrp_file_resyncs_only_the_members_it_concerns(
    rs_settings: Callable[..., Settings],
    job_context: Callable[..., JobContext],
    database: Database,
    birds: dict[str, Bird],
    tmp_path: Path,
) -> None:
    """Blackholes under a covering ROA: the reconciler stats the VRP file; a change puts the
    servers behind, and the sync rewrites only the peer whose ROAs changed."""
    vrps = tmp_path / "vrps.json"
    roa = {"prefix": "193.0.20.0/24", "maxLength": 24, "asn": "AS213035"}
    vrps.write_text(json.dumps({"roas": [roa]}))
    settings = rs_settings(blackholing={"enabled": True, "vrp_file": str(vrps)})
    ctx = context(job_context, settings)
    a = submit(database, ctx.settings, asn=213035, node="abcdef0001")
    b = submit(database, ctx.settings, asn=3320, node="abcdef0002")
    for rid in (a, b):
        process_request(ctx, rid)
    sync_route_servers(ctx)
    assert {load(database, r).status for r in (a, b)} == {"active"}
    a_base, b_base = "AS213035_abcdef0001", "AS3320_abcdef0002"
    before = birds["rs1"].deployed()
    before_a, before_b = member_section(before, a_base), member_section(before, b_base)
    assert before_a and "(bgp_path.last = 213035 && net ~ [\n\t193.0.20.0/24{24,32}\n])" in before_a
    assert before_b and "ztix_blackhole_checked_v4(false)" in before_b
    assert reconcile(ctx)["route_servers_behind"] == 0
    # AS3320 gets a ROA; the file's size changes, so the next pass re-reads it.
    other = {"prefix": "185.1.0.0/22", "maxLength": 22, "asn": 3320}
    vrps.write_text(json.dumps({"roas": [roa, other]}))
    syncs = ctx.dispatcher.route_server_syncs  # type: ignore[attr-defined]
    assert reconcile(ctx)["route_servers_behind"] == 2
    assert ctx.dispatcher.route_server_syncs == syncs + 1  # type: ignore[attr-defined]
    sync_route_servers(ctx)
    after = birds["rs1"].deployed()
    assert member_section(after, a_base) == before_a
    after_b = member_section(after, b_base) or ""
    assert "(bgp_path.last = 3320 && net ~ [\n\t185.1.0.0/22{22,32}\n])" in after_b
    assert reconcile(ctx)["route_servers_behind"] == 0
    # The file gone: the entitlement is off, not the route server.
    vrps.unlink()
    assert reconcile(ctx)["route_servers_behind"] == 2
    sync_route_servers(ctx)
    after_a = member_section(birds["rs2"].deployed(), a_base) or ""
    assert "ztix_blackhole_checked_v4(false)" in after_a


def test_max_prefix_from_peeringdb_and_override(
    rs_settings: Callable[..., Settings],
    job_context: Callable[..., JobContext],
    database: Database,
    birds: dict[str, Bird],
) -> None:
    from ztix.db.base import utcnow
    from ztix.db.models import JoinRequest, PeeringDBNetwork

    ctx = context(job_context, rs_settings())
    with database.session() as db:
        db.add(
            PeeringDBNetwork(
                asn=213035, found=True, info_prefixes4=8, info_prefixes6=4, fetched_at=utcnow()
            )
        )
    rid = submit(database, ctx.settings)
    process_request(ctx, rid)
    sync_route_servers(ctx)
    with database.session() as db:
        peer = db.get(RouteServerPeer, ("rs1", rid))
        assert peer is not None
        assert (peer.max_prefix_ipv4, peer.max_prefix_ipv6, peer.max_prefix_source) == (
            10,
            5,
            "peeringdb",
        )
        request = db.get(JoinRequest, rid)
        assert request is not None
        request.max_prefix_ipv4_override = 3
        request.max_prefix_ipv6_override = 2
    sync_route_servers(ctx)
    with database.session() as db:
        peer = db.get(RouteServerPeer, ("rs1", rid))
        assert peer is not None and peer.max_prefix_source == "override"
    text = member_section(birds["rs1"].deployed(), "AS213035_abcdef0123") or ""
    assert "import limit 3" in text


def test_route_server_views_for_admins_and_members(
    rs_settings: Callable[..., Settings],
    job_context: Callable[..., JobContext],
    make_client: Callable[..., Any],
    database: Database,
    emulator: ControllerEmulator,
) -> None:
    from tests.support.app import create_user, login
    from ztix.routeserver.status import forget

    settings = rs_settings()
    ctx = context(job_context, settings)
    client = make_client(
        networks=[n.model_dump(mode="json") for n in settings.networks],
        zerotier=settings.zerotier.model_dump(mode="json"),
        routeservers=settings.routeservers.model_dump(mode="json"),
    )
    rid = submit(database, ctx.settings)
    process_request(ctx, rid)
    sync_route_servers(ctx)
    forget()
    create_user(database, "root", admin=True)
    create_user(database, "alice", asns=(213035,))
    admin = login(client, "root")
    servers = admin.get("/api/v1/admin/route-servers", params={"sessions": "true"}).json()
    assert [s["name"] for s in servers] == ["rs1", "rs2"]
    for server in servers:
        assert server["sync"]["in_sync"] is True
        assert server["sync"]["last_result"] == "applied"
        assert server["sessions_ok"] is True
        assert {s["protocol"] for s in server["sessions"]} == {
            "AS213035_abcdef0123_v4",
            "AS213035_abcdef0123_v6",
        }
    detail = admin.get("/api/v1/admin/route-servers/rs1").json()
    v4 = next(s for s in detail["sessions"] if s["family"] == "ipv4")
    assert v4["neighbor_as"] == 213035 and v4["neighbor_address"] == "192.0.2.3"
    assert v4["import_limit"] == 100
    assert admin.get("/api/v1/admin/route-servers/nope").json()["code"] == "route_server_not_found"
    member = login(client, "alice")
    mine = member.get(f"/api/v1/requests/{rid}/route-servers").json()
    assert [(m["name"], m["asn"], m["ipv4"], m["applied"]) for m in mine] == [
        ("rs1", 6695, "192.0.2.1", True),
        ("rs2", 6695, "192.0.2.2", True),
    ]
    assert all(len(m["sessions"]) == 2 for m in mine)
    # Admins set a member's import limit; the servers are resynced with it.
    admin = login(client, "root")
    syncs = ctx.dispatcher.route_server_syncs  # type: ignore[attr-defined]
    put = admin.client.put(
        f"/api/v1/admin/requests/{rid}/max-prefix",
        json={"ipv4": 7, "ipv6": None},
        headers={"X-CSRF-Token": admin.csrf},
    )
    assert put.status_code == 200, put.text
    assert ctx.dispatcher.route_server_syncs == syncs + 1  # type: ignore[attr-defined]
    sync_route_servers(ctx)
    with database.session() as db:
        peer = db.get(RouteServerPeer, ("rs1", rid))
        assert peer is not None and (peer.max_prefix_ipv4, peer.max_prefix_source) == (
            7,
            "override/default (no peeringdb data)",
        )


def test_drain_goes_through_the_normal_apply_and_never_both_servers(
    rs_settings: Callable[..., Settings],
    job_context: Callable[..., JobContext],
    database: Database,
    birds: dict[str, Bird],
) -> None:
    """Issue 16: draining is a desired-state change; the sync applies it to that server only
    (its BIRD runs the GRACEFUL_SHUTDOWN export), and the pair's other server is refused."""
    from ztix.errors import AppError
    from ztix.workflow.routeserver_drain import set_drained

    ctx = context(job_context, rs_settings())
    assert [o.result for o in sync_route_servers(ctx)] == ["applied", "applied"]
    with database.session() as db:
        set_drained(db, ctx.settings, ADMIN, "rs1", True)
        db.commit()
    outcomes = sync_route_servers(ctx)
    assert [(o.server, o.result) for o in outcomes] == [("rs1", "applied"), ("rs2", "unchanged")]
    drained_line = "bgp_community.add(ZTIX_GRACEFUL_SHUTDOWN);"
    assert drained_line in (birds["rs1"].config_dir / "ztix.conf").read_text()
    assert drained_line not in (birds["rs2"].config_dir / "ztix.conf").read_text()
    with database.session() as db, pytest.raises(AppError) as refused:
        set_drained(db, ctx.settings, ADMIN, "rs2", True)
    assert refused.value.code == "route_server_pair_drained"
    with database.session() as db:
        set_drained(db, ctx.settings, ADMIN, "rs1", False)
        db.commit()
    assert [o.result for o in sync_route_servers(ctx)] == ["applied", "unchanged"]
    assert drained_line not in (birds["rs1"].config_dir / "ztix.conf").read_text()


def test_limits_set_at_approval_reach_the_route_server(
    rs_settings: Callable[..., Settings],
    job_context: Callable[..., JobContext],
    database: Database,
    birds: dict[str, Bird],
) -> None:
    """Approval with settings (issue 18): the admin's max-prefix at approval is the peer's
    import limit in BIRD."""
    from ztix.workflow.approval import Approval

    ctx = context(job_context, rs_settings())
    rid = submit(database, ctx.settings, approve=False)
    with database.session() as db:
        service.approve(db, rid, ADMIN, Approval(max_prefix_ipv4=7, note="big cone"))
    process_request(ctx, rid)
    sync_route_servers(ctx)
    with database.session() as db:
        peer = db.get(RouteServerPeer, ("rs1", rid))
        assert peer is not None and peer.max_prefix_ipv4 == 7
        assert peer.max_prefix_source.startswith("override")
    text = member_section(birds["rs1"].deployed(), "AS213035_abcdef0123") or ""
    assert "import limit 7" in text


def test_the_desired_state_is_read_without_holding_the_write_lock(
    rs_settings: Callable[..., Settings],
    job_context: Callable[..., JobContext],
    database: Database,
    birds: dict[str, Bird],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading every member of a route server (seconds at 2,000 members) happens outside
    any write transaction: on SQLite a writer (a provisioning job, an approval) gets the
    write lock at once meanwhile, instead of queueing behind the read until its busy
    timeout says "database is locked"."""
    import sqlite3

    from sqlalchemy.engine import make_url

    from ztix.workflow import routeserver_desired as desired_state

    ctx = context(job_context, rs_settings())
    submit(database, ctx.settings)
    path = make_url(database.url).database
    original = desired_state.build
    writers: list[str] = []

    def build(*args: Any, **kwargs: Any) -> Any:
        other = sqlite3.connect(str(path), timeout=0)  # another writer, no busy wait
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            writers.append("got the write lock")
        except sqlite3.OperationalError as exc:
            writers.append(str(exc))
        finally:
            other.close()
        return original(*args, **kwargs)

    monkeypatch.setattr(desired_state, "build", build)
    outcomes = sync_route_servers(ctx)
    assert [o.result for o in outcomes] == ["applied", "applied"]
    assert writers == ["got the write lock", "got the write lock"]


@pytest.mark.both_databases
@pytest.mark.parametrize("ready", [2, 7])
def test_activation_asks_about_the_peers_once_whatever_the_number_waiting(
    rs_settings: Callable[..., Settings], database: Database, ready: int
) -> None:
    """After an apply, the requests that every route server of their network now runs
    become active. Which those are is one question to the database (per network), not one
    per waiting request: at 2,000 members the questions were asked inside the sync's write
    transaction, and on SQLite provisioning jobs queued behind it until "database is
    locked". A request applied on one server only, or still leased by its job, waits."""
    from datetime import timedelta

    from sqlalchemy import event, update

    from ztix.db.base import utcnow
    from ztix.db.models import JoinRequest
    from ztix.domain.requests import RequestStatus
    from ztix.workflow.routeservers import activate_ready

    settings = rs_settings()
    ids = [submit(database, settings, node=f"abcdef{i:04x}") for i in range(ready + 2)]
    half, leased, *rest = ids
    now = utcnow()
    with database.session() as db:
        db.execute(
            update(JoinRequest)
            .where(JoinRequest.id.in_(ids))
            .values(status=RequestStatus.PROVISIONING.value, zt_authorized=True)
        )
        db.execute(
            update(JoinRequest)
            .where(JoinRequest.id == leased)
            .values(lease_owner="a job", lease_expires_at=now + timedelta(minutes=5))
        )
        for request_id in ids:
            for server in ("rs1", "rs2"):
                db.add(
                    RouteServerPeer(
                        server=server,
                        request_id=request_id,
                        asn=213035,
                        max_prefix_ipv4=100,
                        max_prefix_ipv6=100,
                        max_prefix_source="default",
                        applied=not (request_id == half and server == "rs2"),
                        applied_at=now,
                    )
                )
    asked: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().lower().startswith("select") and "route_server_peers" in statement:
            asked.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        with database.session() as db:
            assert activate_ready(db, settings) == ready
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    assert len(asked) == 1
    assert {load(database, i).status for i in rest} == {"active"}
    assert load(database, half).status == "provisioning"
    assert load(database, leased).status == "provisioning"
