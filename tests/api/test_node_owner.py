"""A ZeroTier node belongs to one member per IX network (issue 12 §1), black-box over HTTP,
on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support.admin import force_failed
from tests.support.app import NWID, NWID_B, AppFactory, Session, login, status_counts
from ztix.config import Settings
from ztix.db.models import JoinRequest
from ztix.db.session import Database
from ztix.domain.requests import NODE_HOLDING_STATUSES
from ztix.errors import AppError
from ztix.workflow import requests as service

# On PostgreSQL too: node-owner uniqueness is a partial unique index; races take row locks.
pytestmark = pytest.mark.both_databases

NODE = "abcdef0123"
A, B = 213035, 213036


def file(session: Session, asn: int, node: str = NODE, **overrides: Any) -> Any:
    body = {"asn": asn, "zt_network_id": NWID, "node_id": node, **overrides}
    return session.post("/api/v1/requests", json=body)


def holders(database: Database, node: str, network: str = NWID) -> list[JoinRequest]:
    """The requests that hold ``node`` on ``network``."""
    with database.session() as db:
        return list(
            db.scalars(
                select(JoinRequest).where(
                    JoinRequest.node_id == node,
                    JoinRequest.network.has(zt_network_id=network),
                    JoinRequest.status.in_([s.value for s in NODE_HOLDING_STATUSES]),
                )
            )
        )


@pytest.fixture
def operators(login_as: Callable[..., Session]) -> tuple[Session, Session]:
    """Operator A (AS213035) and operator B (AS213036), each logged in on their own client."""
    return login_as("op-a", asns=(A,)), login_as("op-b", asns=(B,))


def test_a_node_held_by_another_asn_is_node_in_use_without_naming_the_holder(
    operators: tuple[Session, Session], admin: Session, database: Database
) -> None:
    op_a, op_b = operators
    first = file(op_a, A)
    assert first.status_code == 201

    taken = file(op_b, B, node=NODE.upper())
    assert taken.status_code == 409
    problem = taken.json()
    assert problem["code"] == "node_in_use"
    assert problem["status"] == 409
    # B learns neither who holds the node nor the request.
    text = taken.text
    assert str(A) not in text and first.json()["id"] not in text
    assert not {"holder_request_id", "holder_asn", "holder_status"} & problem.keys()
    # The same ASN still gets duplicate_open_request; another network is another LAN.
    again = file(op_a, A)
    assert again.json()["code"] == "duplicate_open_request"
    assert file(op_b, B, zt_network_id=NWID_B).status_code == 201
    # An admin filing for B sees the holder.
    for_b = file(admin, B)
    assert for_b.json()["code"] == "node_in_use"
    assert for_b.json()["holder_request_id"] == first.json()["id"]
    assert for_b.json()["holder_asn"] == A
    assert for_b.json()["holder_status"] == "pending"
    assert [r.asn for r in holders(database, NODE)] == [A]


@pytest.mark.parametrize("closing", ["reject", "cancel"])
def test_a_closed_request_lets_go_of_the_node(
    operators: tuple[Session, Session], admin: Session, closing: str
) -> None:
    op_a, op_b = operators
    first = file(op_a, A).json()
    if closing == "reject":
        admin.post(f"/api/v1/admin/requests/{first['id']}/reject", json={"reason": "not yours"})
    else:
        op_a.post(f"/api/v1/requests/{first['id']}/cancel")
    assert file(op_b, B).status_code == 201


def test_every_holding_state_holds_the_node(
    operators: tuple[Session, Session], admin: Session, database: Database
) -> None:
    op_a, op_b = operators
    request_id = uuid.UUID(file(op_a, A).json()["id"])
    for status in sorted(NODE_HOLDING_STATUSES):
        with database.session() as db:
            row = db.get(JoinRequest, request_id)
            assert row is not None
            row.status = status
        assert file(op_b, B).json()["code"] == "node_in_use", status


def test_route_server_and_reserved_nodes_cannot_be_requested(
    make_client: AppFactory, login_as: Callable[..., Session], database: Database
) -> None:
    overrides: dict[str, Any] = dict(
        workflow={"approval_mode": "manual_admin", "reserved_node_ids": ["C0FFEE0001"]},
        routeservers={
            "servers": [
                {
                    "name": "rs1",
                    "transport": "local",
                    "asn": 64999,
                    "router_id": "192.0.2.250",
                    "network": NWID_B,
                    "ipv4": "198.51.100.250",
                    "ipv6": "2001:db8:cd::250",
                    "node_id": "Bada55B001",
                }
            ]
        },
    )
    op_a = login_as("op-a", asns=(A,), client=make_client(**overrides))
    # Reserved on every network, not only the route server's own.
    for node, network in [
        ("bada55b001", NWID),
        ("BADA55B001", NWID_B),
        ("c0ffee0001", NWID),
        ("c0ffee0001", NWID_B),
    ]:
        response = file(op_a, A, node=node, zt_network_id=network)
        assert response.status_code == 409, node
        assert response.json()["code"] == "node_reserved"
        assert "reserved_by" not in response.json()
    root = login_as("root", admin=True, client=make_client(**overrides))
    response = file(root, A, node="bada55b001")
    assert response.json()["code"] == "node_reserved"
    assert response.json()["reserved_by"] == "route server rs1"
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(JoinRequest)) == 0
    assert file(op_a, A, node="c0ffee0002").status_code == 201


def test_reserved_node_ids_are_validated() -> None:
    with pytest.raises(ValueError, match="10 hexadecimal"):
        Settings(workflow={"reserved_node_ids": ["nope"]})
    settings = Settings(workflow={"reserved_node_ids": [" ABCDEF0001 "]})
    assert settings.workflow.reserved_node_ids == ("abcdef0001",)
    assert settings.reserved_node("ABCDEF0001") == "workflow.reserved_node_ids"
    assert settings.reserved_node("abcdef0002") is None


def _racing_check(monkeypatch: pytest.MonkeyPatch, passes: int) -> None:
    """Let the service's check pass ``passes`` times, as when another transaction commits
    between our check and our write: only the database's unique indexes are left to refuse,
    and the check that follows the refusal is the real one."""
    real = service.node_conflict
    left = [passes]

    def check(*args: Any, **kwargs: Any) -> AppError | None:
        left[0] -= 1
        return None if left[0] >= 0 else real(*args, **kwargs)

    monkeypatch.setattr(service, "node_conflict", check)


@pytest.mark.parametrize(("who", "code"), [(1, "node_in_use"), (0, "duplicate_open_request")])
def test_a_filing_that_races_past_the_check_gets_the_same_problem(
    operators: tuple[Session, Session],
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    who: int,
    code: str,
) -> None:
    op_a, _ = operators
    first = file(op_a, A).json()
    _racing_check(monkeypatch, passes=2)  # the route's check and create_request's
    response = file(operators[who], (A, B)[who])
    assert response.status_code == 409
    assert response.json()["code"] == code
    if code == "duplicate_open_request":
        assert response.json()["existing_request_id"] == first["id"]
    else:
        assert first["id"] not in response.text
    assert [r.asn for r in holders(database, NODE)] == [A]
    assert status_counts(database)["pending"] == 1


def test_retry_takes_the_node_again_or_is_refused(
    operators: tuple[Session, Session], admin: Session, database: Database
) -> None:
    op_a, op_b = operators
    a_req = file(op_a, A).json()
    admin.post(f"/api/v1/admin/requests/{a_req['id']}/approve")
    force_failed(database, a_req["id"])
    # A failed request has let go of its node: B may take it.
    b_req = file(op_b, B)
    assert b_req.status_code == 201
    retry = admin.post(f"/api/v1/admin/requests/{a_req['id']}/retry")
    assert retry.status_code == 409
    assert retry.json()["code"] == "node_in_use"
    assert retry.json()["holder_request_id"] == b_req.json()["id"]
    failed = admin.get(f"/api/v1/admin/requests/{a_req['id']}").json()
    assert failed["status"] == "failed"
    assert failed["audit"][-1]["action"] == "provisioning.gave_up"  # nothing recorded
    # A still may not file a second request while its failed one is open.
    assert file(op_a, A).json()["code"] == "duplicate_open_request"
    # Once B's request is gone, the retry takes the node back.
    admin.post(f"/api/v1/admin/requests/{b_req.json()['id']}/reject", json={"reason": "A's"})
    retried = admin.post(f"/api/v1/admin/requests/{a_req['id']}/retry")
    assert retried.status_code == 200
    assert retried.json()["status"] == "approved"
    assert [r.asn for r in holders(database, NODE)] == [A]


def test_a_retry_racing_a_new_request_gets_node_in_use(
    operators: tuple[Session, Session],
    admin: Session,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    op_a, op_b = operators
    a_req = file(op_a, A).json()
    admin.post(f"/api/v1/admin/requests/{a_req['id']}/approve")
    force_failed(database, a_req["id"])
    b_req = file(op_b, B).json()
    _racing_check(monkeypatch, passes=1)  # retry's own check
    retry = admin.post(f"/api/v1/admin/requests/{a_req['id']}/retry")
    assert retry.status_code == 409
    assert retry.json()["code"] == "node_in_use"
    assert retry.json()["holder_request_id"] == b_req["id"]
    assert admin.get(f"/api/v1/admin/requests/{a_req['id']}").json()["status"] == "failed"
    assert status_counts(database)["failed"] == 1


ROUNDS = 20


def _file_and_approve(
    session: Session,
    approver: Session,
    asn: int,
    node: str,
    barrier: threading.Barrier,
    results: list[tuple[int, str]],
) -> None:
    barrier.wait()
    response = file(session, asn, node=node)
    outcome = (response.status_code, response.json().get("code") or "created")
    if response.status_code == 201:
        approved = approver.post(f"/api/v1/admin/requests/{response.json()['id']}/approve")
        outcome = (approved.status_code, approved.json()["status"])
    results.append(outcome)  # list.append is atomic


@pytest.mark.parametrize("past_the_check", [False, True], ids=["racing", "past-the-check"])
def test_two_asns_racing_for_one_node_end_with_one_owner(
    operators: tuple[Session, Session],
    make_client: AppFactory,
    admin: Session,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    past_the_check: bool,
) -> None:
    """20 rounds: A and B file the same node at the same moment and an admin approves
    whatever was accepted, each on its own client and thread. ``past-the-check`` holds each
    filing between the service's check and its insert until the other one got there too
    (where the database lets both reach it), so the unique index decides."""
    admins = (admin, login(make_client(), "root"))
    writes = threading.Barrier(2, timeout=0.3)
    if past_the_check:
        take_node = service.take_node

        def both_checked(*args: Any, **kwargs: Any) -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                writes.wait()
            writes.reset()
            take_node(*args, **kwargs)

        monkeypatch.setattr(service, "take_node", both_checked)
    outcomes: list[list[tuple[int, str]]] = []
    for round_no in range(ROUNDS):
        node = f"abcde{round_no:05x}"
        barrier = threading.Barrier(2)
        results: list[tuple[int, str]] = []
        threads = [
            threading.Thread(
                target=_file_and_approve, args=(session, approver, asn, node, barrier, results)
            )
            for session, approver, asn in zip(operators, admins, (A, B), strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        outcomes.append(sorted(results))
        owners = holders(database, node)
        assert len(owners) == 1, (round_no, results)
        assert owners[0].status == "approved"
    assert all(o == [(200, "approved"), (409, "node_in_use")] for o in outcomes), outcomes
    counts = status_counts(database)
    assert counts["approved"] == ROUNDS
    assert counts["pending"] == 0
