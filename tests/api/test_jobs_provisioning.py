"""Provisioning and leaving against the controller emulator, on SQLite and PostgreSQL.

Each test asserts the invariants of issue 3: no lost request, no duplicate member,
distinct addresses, and a complete audit trail.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.support.jobs import ADMIN, actions, load, run_until_settled, submit
from tests.support.zt_fixtures import QueueDispatcher
from ztix.config import Settings
from ztix.db.base import utcnow
from ztix.db.models import AddressAssignment, AuditEvent, JoinRequest, User
from ztix.db.session import Database
from ztix.errors import AppError
from ztix.jobs.tasks import JobContext, process_request, reconcile
from ztix.workflow import requests as service
from ztix.zerotier.emulator import ControllerEmulator


def test_approved_request_becomes_an_authorized_member(
    job_context: Callable[..., JobContext], database: Database, emulator: ControllerEmulator
) -> None:
    ctx = job_context()
    rid = submit(database, ctx.settings)
    assert process_request(ctx, rid).done
    request = load(database, rid)
    assert request.status == "active"
    assert request.address(4) == "192.0.2.1"
    assert request.address(6) == "2001:db8:ab::21:3035:1"
    assert request.zt_authorized is True
    assert request.zt_provider == "zerotier-controller"
    assert request.attempts == 1
    member = emulator.member(request.network.zt_network_id, "abcdef0123")
    assert member is not None
    assert member["authorized"] is True
    assert sorted(member["ipAssignments"]) == ["192.0.2.1", "2001:db8:ab::21:3035:1"]
    assert member["noAutoAssignIps"] is True
    assert actions(database, rid) == [
        "request.created",
        "request.approved",
        "provisioning.started",
        "provisioning.succeeded",
    ]
    # Running the job again changes nothing.
    assert not process_request(ctx, rid).done
    assert actions(database, rid)[-1] == "provisioning.succeeded"


@pytest.mark.both_databases
def test_addresses_skip_reserved_and_number_nodes_per_asn(
    job_context: Callable[..., JobContext],
    zt_settings: Callable[..., Settings],
    database: Database,
    emulator: ControllerEmulator,
) -> None:
    from tests.support.zt_fixtures import ix_networks

    nets = ix_networks(emulator)
    nets[0]["reserved_addresses"] = ["192.0.2.1", "192.0.2.2", "2001:db8:ab::21:3035:1"]
    ctx = job_context(zt_settings(networks=nets))
    first = submit(database, ctx.settings, node="abcdef0001")
    second = submit(database, ctx.settings, node="abcdef0002")
    other = submit(database, ctx.settings, asn=13335, node="abcdef0003")
    for rid in (first, second, other):
        assert process_request(ctx, rid).done
    got = [
        (load(database, r).address(4), load(database, r).address(6)) for r in (first, second, other)
    ]
    assert got == [
        ("192.0.2.3", "2001:db8:ab::21:3035:2"),
        ("192.0.2.4", "2001:db8:ab::21:3035:3"),
        ("192.0.2.5", "2001:db8:ab::1:3335:1"),
    ]


def test_controller_errors_are_retried_then_active(
    job_context: Callable[..., JobContext], database: Database, emulator: ControllerEmulator
) -> None:
    ctx = job_context()
    rid = submit(database, ctx.settings)
    emulator.fail_next(2, status=503)
    first = process_request(ctx, rid)
    assert not first.done and first.retry_in is not None
    assert 0 < first.retry_in <= 0.2
    request = load(database, rid)
    assert request.status == "provisioning"
    assert request.last_error_code == "controller_unavailable"
    assert request.last_error_system == "zerotier-controller"
    assert request.next_attempt_at is not None
    # Not due yet: another worker picking it up now does nothing.
    assert process_request(ctx, rid).done is False
    run_until_settled(ctx, rid)
    request = load(database, rid)
    assert request.status == "active"
    assert request.last_error_code is None
    trail = actions(database, rid)
    assert trail.count("provisioning.attempt_failed") >= 1
    assert trail[-1] == "provisioning.succeeded"
    assert list(emulator.store.members[request.network.zt_network_id]) == ["abcdef0123"]


def test_timeouts_and_dropped_connections_are_retried(
    job_context: Callable[..., JobContext],
    zt_settings: Callable[..., Settings],
    database: Database,
    emulator: ControllerEmulator,
) -> None:
    settings = zt_settings()
    settings = settings.model_copy(
        update={
            "zerotier": settings.zerotier.model_copy(
                update={
                    "controller": settings.zerotier.controller.model_copy(
                        update={"timeout_seconds": 0.3}
                    )
                }
            )
        }
    )
    ctx = job_context(settings)
    rid = submit(database, ctx.settings)
    emulator.time_out_next(1, hang_seconds=2)
    emulator.drop_next(1)
    run_until_settled(ctx, rid)
    assert load(database, rid).status == "active"
    with database.session() as db:
        codes = [
            e.details["code"]
            for e in db.scalars(
                select(AuditEvent).where(AuditEvent.action == "provisioning.attempt_failed")
            )
        ]
    assert codes and set(codes) == {"controller_unavailable"}


def test_giving_up_after_max_attempts(
    job_context: Callable[..., JobContext], database: Database, emulator: ControllerEmulator
) -> None:
    ctx = job_context()
    rid = submit(database, ctx.settings)
    emulator.fail_next(100, status=500 + 3)
    run_until_settled(ctx, rid)
    request = load(database, rid)
    assert request.status == "failed"
    assert request.attempts == 4
    assert request.last_error_code == "controller_unavailable"
    assert actions(database, rid)[-1] == "provisioning.gave_up"
    # An admin retry starts a fresh count and succeeds once the controller is back.
    emulator.reset_faults()
    with database.session() as db:
        service.retry(db, ctx.settings, rid, ADMIN)
    assert load(database, rid).attempts == 0
    assert process_request(ctx, rid).done
    request = load(database, rid)
    assert (request.status, request.attempts) == ("active", 1)


def test_bad_token_fails_at_once(
    job_context: Callable[..., JobContext],
    zt_settings: Callable[..., Settings],
    database: Database,
    emulator: ControllerEmulator,
) -> None:
    settings = zt_settings()
    ctx = job_context(settings)
    emulator.set_token("another-token-entirely")
    rid = submit(database, settings)
    outcome = process_request(ctx, rid)
    assert outcome.retry_in is None
    request = load(database, rid)
    assert (request.status, request.attempts) == ("failed", 1)
    assert request.last_error_code == "controller_auth_failed"


def test_missing_network_fails_at_once(
    job_context: Callable[..., JobContext], database: Database, emulator: ControllerEmulator
) -> None:
    ctx = job_context()
    rid = submit(database, ctx.settings)
    from ztix.zerotier.controller import ControllerProvider, ControllerSettings

    with ControllerProvider(ControllerSettings(url=emulator.url, token=emulator.token)) as zt:
        zt.delete_network(ctx.settings.networks[0].zt_network_id or "")
    process_request(ctx, rid)
    request = load(database, rid)
    assert (request.status, request.last_error_code) == ("failed", "controller_not_found")


@pytest.mark.both_databases
def test_two_workers_racing_for_one_request(
    job_context: Callable[..., JobContext], database: Database, emulator: ControllerEmulator
) -> None:
    ctx_a, ctx_b = job_context(), job_context()
    rid = submit(database, ctx_a.settings)
    emulator.set_latency(0.2)  # both are in flight at once
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def work(ctx: JobContext) -> None:
        barrier.wait()
        results.append(process_request(ctx, rid).done)

    threads = [threading.Thread(target=work, args=(c,)) for c in (ctx_a, ctx_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    assert actions(database, rid).count("provisioning.started") == 1
    assert load(database, rid).status == "active"


@pytest.mark.both_databases
def test_expired_lease_is_taken_over_by_the_reconciler(
    job_context: Callable[..., JobContext], database: Database, emulator: ControllerEmulator
) -> None:
    """A worker that died mid-provisioning: its lease runs out, the reconciler re-dispatches."""
    from ztix.workflow import provisioning

    dispatcher = QueueDispatcher()
    ctx = job_context(dispatcher=dispatcher)
    rid = submit(database, ctx.settings)
    dispatcher.queue.clear()  # the approval's own dispatch; we look at the reconciler's
    with database.session() as db:
        assert provisioning.claim(db, ctx.settings, rid, "dead-worker") is not None
    assert reconcile(ctx)["dispatched"] == 0  # the lease is live
    with database.session() as db:
        db.execute(update(JoinRequest).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert reconcile(ctx)["dispatched"] == 1
    assert dispatcher.queue == [rid]
    assert process_request(ctx, rid).done
    request = load(database, rid)
    assert (request.status, request.attempts) == ("active", 2)
    assert len(request.addresses) == 2  # the dead worker's allocation was kept, not doubled


@pytest.mark.both_databases
def test_reconciler_dispatches_undispatched_approvals(
    job_context: Callable[..., JobContext], database: Database
) -> None:
    dispatcher = QueueDispatcher()
    ctx = job_context(dispatcher=dispatcher)
    rids = [submit(database, ctx.settings, node=f"abcdef00{i:02d}") for i in range(3)]
    pending = submit(database, ctx.settings, node="abcdef0099", approve=False)
    dispatcher.queue.clear()  # the approvals' own dispatches; we look at the reconciler's
    # Issue 13: fresh work is not dispatched again before its lease would have expired.
    assert reconcile(ctx)["dispatched"] == 0
    with database.session() as db:
        db.execute(
            update(JoinRequest).values(
                updated_at=utcnow() - timedelta(seconds=ctx.settings.jobs.lease_seconds + 1)
            )
        )
    reconcile(ctx)
    assert sorted(dispatcher.queue) == sorted(rids)
    assert pending not in dispatcher.queue


@pytest.mark.both_databases
def test_leave_deauthorizes_and_releases_addresses(
    job_context: Callable[..., JobContext], database: Database, emulator: ControllerEmulator
) -> None:
    ctx = job_context()
    rid = submit(database, ctx.settings)
    process_request(ctx, rid)
    with database.session() as db:
        user = db.scalar(select(User).where(User.username == "op"))
        assert user is not None
        service.leave(db, user, rid, ADMIN)
    assert process_request(ctx, rid).done
    request = load(database, rid)
    assert request.status == "removed"
    assert request.addresses == []
    member = emulator.member(request.network.zt_network_id, "abcdef0123")
    assert member is not None and member["authorized"] is False
    assert member["ipAssignments"] == []
    with database.session() as db:
        assert db.scalars(select(AddressAssignment)).all() == []
    trail = actions(database, rid)
    assert trail[-3:] == [
        "request.leave_requested",
        "deprovisioning.started",
        "deprovisioning.succeeded",
    ]
    # The released addresses go to the next member.
    again = submit(database, ctx.settings, node="abcdef0124")
    process_request(ctx, again)
    assert load(database, again).address(4) == "192.0.2.1"


def test_leave_can_delete_the_member(
    job_context: Callable[..., JobContext],
    zt_settings: Callable[..., Settings],
    database: Database,
    emulator: ControllerEmulator,
) -> None:
    ctx = job_context(
        zt_settings(
            zerotier={
                "controller": {"url": emulator.url, "token": emulator.token},
                "delete_member_on_leave": True,
            }
        )
    )
    rid = submit(database, ctx.settings)
    process_request(ctx, rid)
    with database.session() as db:
        service.deprovision(db, rid, ADMIN)
    process_request(ctx, rid)
    assert load(database, rid).status == "removed"
    assert emulator.member(ctx.settings.networks[0].zt_network_id or "", "abcdef0123") is None


def test_leaving_keeps_trying_through_outages(
    job_context: Callable[..., JobContext], database: Database, emulator: ControllerEmulator
) -> None:
    ctx = job_context()
    rid = submit(database, ctx.settings)
    process_request(ctx, rid)
    with database.session() as db:
        service.deprovision(db, rid, ADMIN)
    emulator.fail_next(6, status=502)  # more failures than max_attempts
    run_until_settled(ctx, rid, limit=30)
    assert load(database, rid).status == "removed"


def test_drift_is_repaired(
    job_context: Callable[..., JobContext], database: Database, emulator: ControllerEmulator
) -> None:
    from ztix.zerotier.controller import ControllerProvider, ControllerSettings

    ctx = job_context()
    rid = submit(database, ctx.settings)
    process_request(ctx, rid)
    assert reconcile(ctx)["repaired"] == 0
    nwid = ctx.settings.networks[0].zt_network_id or ""
    with ControllerProvider(ControllerSettings(url=emulator.url, token=emulator.token)) as zt:
        zt.deauthorize_member(nwid, "abcdef0123")
    assert reconcile(ctx)["repaired"] == 1
    member = emulator.member(nwid, "abcdef0123")
    assert member is not None and member["authorized"] is True
    assert actions(database, rid)[-1] == "member.repaired"
    assert reconcile(ctx)["repaired"] == 0


def test_api_shows_the_membership(
    make_client: Callable[..., object],
    zt_settings: Callable[..., Settings],
    job_context: Callable[..., JobContext],
    database: Database,
    emulator: ControllerEmulator,
) -> None:
    from tests.support.app import create_user, login
    from tests.support.zt_fixtures import ix_networks

    settings = zt_settings()
    client = make_client(networks=ix_networks(emulator))
    create_user(database, "alice", asns=(213035,))
    session = login(client, "alice")  # type: ignore[arg-type]
    nwid = settings.networks[0].zt_network_id
    created = session.post(
        "/api/v1/requests", json={"asn": 213035, "zt_network_id": nwid, "node_id": "abcdef0123"}
    ).json()
    assert created["membership"] is None
    with database.session() as db:
        service.approve(db, uuid.UUID(created["id"]), ADMIN)
    process_request(job_context(settings), uuid.UUID(created["id"]))
    shown = session.get(f"/api/v1/requests/{created['id']}").json()
    assert shown["status"] == "active"
    assert shown["membership"] == {
        "node_id": "abcdef0123",
        "zt_network_id": nwid,
        "authorized": True,
        "ipv4": "192.0.2.1",
        "ipv6": "2001:db8:ab::21:3035:1",
        "provider": "zerotier-controller",
        "last_synced_at": shown["membership"]["last_synced_at"],
        "join_command": f"zerotier-cli join {nwid}",
    }
    left = session.post(f"/api/v1/requests/{created['id']}/leave")
    assert left.status_code == 200 and left.json()["status"] == "deprovisioning"
    again = session.post(f"/api/v1/requests/{created['id']}/leave")
    assert again.json()["code"] == "invalid_transition"


@pytest.mark.both_databases
def test_fifty_concurrent_approvals_get_distinct_addresses(
    job_context: Callable[..., JobContext], database: Database, emulator: ControllerEmulator
) -> None:
    """50 approvals at once, worked by 8 concurrent workers: 50 distinct IPv4 and IPv6."""
    from concurrent.futures import ThreadPoolExecutor

    ctx = job_context()
    rids = [
        submit(
            database,
            ctx.settings,
            asn=213035 if i % 2 else 13335,
            node=f"abcd{i:06d}",
            approve=False,
        )
        for i in range(50)
    ]

    def approve(rid: uuid.UUID) -> None:
        with database.session() as db:
            service.approve(db, rid, ADMIN)

    workers = [job_context(ctx.settings) for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(approve, rids))
        for _ in range(3):  # a few rounds: every worker tries every request
            list(pool.map(lambda i: run_until_settled(workers[i % 8], rids[i]), range(50)))
    requests = [load(database, r) for r in rids]
    assert {r.status for r in requests} == {"active"}
    v4 = {r.address(4) for r in requests}
    v6 = {r.address(6) for r in requests}
    assert len(v4) == 50 and len(v6) == 50
    nwid = ctx.settings.networks[0].zt_network_id or ""
    assert len(emulator.store.members[nwid]) == 50
    for rid in rids:
        assert actions(database, rid).count("provisioning.started") == 1


@pytest.mark.both_databases
def test_a_node_changes_hands_only_after_its_owner_left(
    job_context: Callable[..., JobContext], database: Database, emulator: ControllerEmulator
) -> None:
    """Issue 12: another ASN's filing, rejection or leave never touches the owner's member;
    the node goes to another ASN only once the owner's leave is done."""
    ctx = job_context()
    nwid = ctx.settings.networks[0].zt_network_id or ""
    owner = submit(database, ctx.settings, asn=213035)
    process_request(ctx, owner)

    def owners_member_intact() -> None:
        member = emulator.member(nwid, "abcdef0123")
        assert member is not None and member["authorized"] is True
        assert sorted(member["ipAssignments"]) == ["192.0.2.1", "2001:db8:ab::21:3035:1"]
        assert member["name"] == "AS213035"

    with pytest.raises(AppError) as caught:
        submit(database, ctx.settings, asn=213036)
    assert caught.value.code == "node_in_use"
    # B's requests for other nodes come and go: one left, one rejected.
    left = submit(database, ctx.settings, asn=213036, node="abcdef0999")
    process_request(ctx, left)
    rejected = submit(database, ctx.settings, asn=13335, node="abcdef0998", approve=False)
    with database.session() as db:
        user = db.scalar(select(User).where(User.username == "op"))
        assert user is not None
        service.leave(db, user, left, ADMIN)
        service.reject(db, rejected, ADMIN, "not yours")
    assert process_request(ctx, left).done
    assert reconcile(ctx)["repaired"] == 0
    owners_member_intact()

    # The owner leaves: while it is deprovisioning the node is still its own.
    with database.session() as db:
        service.deprovision(db, owner, ADMIN)
    with pytest.raises(AppError) as caught:
        submit(database, ctx.settings, asn=213036)
    assert caught.value.code == "node_in_use"
    assert process_request(ctx, owner).done
    assert load(database, owner).status == "removed"
    # Now B may have it, and the old owner's request touches nothing any more.
    taker = submit(database, ctx.settings, asn=213036)
    assert process_request(ctx, taker).done
    assert reconcile(ctx)["repaired"] == 0
    member = emulator.member(nwid, "abcdef0123")
    assert member is not None and member["authorized"] is True
    assert member["name"] == "AS213036"
    assert load(database, taker).address(6) == "2001:db8:ab::21:3036:1"


@pytest.mark.both_databases
def test_a_drift_repair_never_writes_over_the_next_owner(
    job_context: Callable[..., JobContext], database: Database, emulator: ControllerEmulator
) -> None:
    """While the reconciler repairs A's drifted member, A leaves and B asks for the node at
    once. The repair holds A's lease: A's leave waits for it, so B cannot get the node
    until the repair is over, and the repair never writes A's member over B's."""
    from ztix.zerotier.controller import ControllerProvider, ControllerSettings

    ctx = job_context()
    nwid = ctx.settings.networks[0].zt_network_id or ""
    owner = submit(database, ctx.settings, asn=213035)
    process_request(ctx, owner)
    with ControllerProvider(ControllerSettings(url=emulator.url, token=emulator.token)) as zt:
        zt.deauthorize_member(nwid, "abcdef0123")  # drift: the reconciler will repair it

    refused: list[str] = []
    real_get = ctx.provider.get_member

    def meanwhile(network_id: str, node_id: str) -> Any:
        ctx.provider.get_member = real_get  # type: ignore[method-assign]
        with database.session() as db:
            service.deprovision(db, owner, ADMIN)
        process_request(ctx, owner)
        try:
            taker = submit(database, ctx.settings, asn=213036)
        except AppError as exc:
            refused.append(exc.code)
        else:
            process_request(ctx, taker)
        return real_get(network_id, node_id)

    ctx.provider.get_member = meanwhile  # type: ignore[method-assign]
    reconcile(ctx)
    assert refused == ["node_in_use"]
    assert load(database, owner).status == "deprovisioning"
    # The leave goes on once the repair is over; then B takes the node.
    run_until_settled(ctx, owner)
    taker = submit(database, ctx.settings, asn=213036)
    assert process_request(ctx, taker).done
    reconcile(ctx)
    member = emulator.member(nwid, "abcdef0123")
    assert member is not None and member["authorized"] is True
    assert member["name"] == "AS213036"
