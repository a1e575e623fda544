"""The member's side of the join-request workflow, black-box over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.support.app import (
    NWID,
    NWID_B,
    AppFactory,
    RecordingDispatcher,
    Session,
    status_counts,
)
from ztix.db.models import AuditEvent, JoinRequest
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus

NODE = "abcdef0123"


def new_request(session: Session, **overrides: Any) -> Any:
    body = {"asn": 213035, "zt_network_id": NWID, "node_id": NODE, **overrides}
    return session.post("/api/v1/requests", json=body)


def test_onboarding_context(member: Session) -> None:
    context = member.get("/api/v1/onboarding/context").json()
    assert [a["asn"] for a in context["asns"]] == [13335, 213035]
    assert {n["zt_network_id"] for n in context["networks"]} == {NWID, NWID_B}
    assert context["approval_mode"] == "manual_admin"


def test_network_grants_limit_what_a_member_sees_and_joins(
    login_as: Callable[..., Session],
) -> None:
    carol = login_as("carol", asns=(3320,), network_ids=(NWID_B,))
    context = carol.get("/api/v1/onboarding/context").json()
    assert [n["zt_network_id"] for n in context["networks"]] == [NWID_B]
    response = new_request(carol, asn=3320, zt_network_id=NWID)
    assert response.status_code == 403
    assert response.json()["code"] == "network_not_authorized"
    assert new_request(carol, asn=3320, zt_network_id=NWID_B).status_code == 201


def test_create_request(
    member: Session, database: Database, dispatcher: RecordingDispatcher
) -> None:
    response = new_request(member, node_id="ABCDEF0123", zt_network_id=NWID.upper(), notes=" hi ")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["node_id"] == NODE
    assert body["zt_network_id"] == NWID
    assert body["network_name"] == "ZT-IX Frankfurt"
    assert body["notes"] == "hi"
    assert body["approved_by_policy"] is False
    with database.session() as db:
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "request.created"))
    assert event.actor == "alice"
    assert event.to_status == "pending"
    assert str(event.request_id) == body["id"]
    assert status_counts(database)["pending"] == 1
    assert dispatcher.seen == []  # nothing to do until it is approved


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"asn": 0}, "invalid_asn"),
        ({"asn": 23456}, "invalid_asn"),
        ({"asn": 64500}, "invalid_asn"),
        ({"asn": 65000}, "invalid_asn"),  # private, not allowed by default
        ({"asn": 4294967295}, "invalid_asn"),
        ({"asn": "lots"}, "invalid_asn"),
        ({"node_id": "ff00000000"}, "invalid_node_id"),
        ({"node_id": "0000000000"}, "invalid_node_id"),
        ({"node_id": "abc"}, "invalid_node_id"),
        ({"zt_network_id": "nope"}, "invalid_network_id"),
    ],
)
def test_invalid_identifiers(member: Session, overrides: dict[str, Any], code: str) -> None:
    response = new_request(member, **overrides)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code
    assert problem["status"] == 422
    assert problem["type"].endswith(code)


def test_private_asns_by_switch(make_client: AppFactory, login_as: Callable[..., Session]) -> None:
    client = make_client(workflow={"allow_private_asns": True})
    session = login_as("lab", asns=(65000,), client=client)
    assert new_request(session, asn=65000).status_code == 201


def test_asn_not_held(member: Session) -> None:
    response = new_request(member, asn=3320)
    assert response.status_code == 403
    assert response.json()["code"] == "asn_not_authorized"


def test_unknown_network(member: Session) -> None:
    response = new_request(member, zt_network_id="8056c2e21c0000ff")
    assert response.status_code == 404
    assert response.json()["code"] == "network_not_found"


@pytest.mark.both_databases
def test_duplicate_open_request_names_the_existing_one(member: Session) -> None:
    first = new_request(member).json()
    response = new_request(member, node_id=NODE.upper())
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "duplicate_open_request"
    assert problem["existing_request_id"] == first["id"]
    # Another node is a different request.
    assert new_request(member, node_id="abcdef0124").status_code == 201
    # The same node for another ASN is not (issue 12): a node belongs to one member per
    # IX network. alice holds both ASNs, so she may see which request holds it.
    other_asn = new_request(member, asn=13335)
    assert other_asn.status_code == 409
    assert other_asn.json()["code"] == "node_in_use"
    assert other_asn.json()["holder_request_id"] == first["id"]


@pytest.mark.both_databases
def test_a_closed_request_does_not_block_a_new_one(member: Session) -> None:
    first = new_request(member).json()
    assert member.post(f"/api/v1/requests/{first['id']}/cancel").status_code == 200
    assert new_request(member).status_code == 201


@pytest.mark.both_databases
def test_partial_unique_index_is_enforced_by_the_database(
    member: Session, database: Database
) -> None:
    first = new_request(member).json()
    with database.session() as db:
        original = db.get(JoinRequest, uuid.UUID(first["id"]))
        assert original is not None
        network_id = original.network_id
    with pytest.raises(IntegrityError), database.session() as db:
        db.add(JoinRequest(asn=213035, network_id=network_id, node_id=NODE, status="approved"))
        db.flush()
    # Closed duplicates are fine.
    with database.session() as db:
        for status in ("rejected", "cancelled", "removed"):
            db.add(JoinRequest(asn=213035, network_id=network_id, node_id=NODE, status=status))


def test_list_shows_only_requests_of_my_asns(
    member: Session, login_as: Callable[..., Session]
) -> None:
    bob = login_as("bob", asns=(3320,))
    mine = new_request(member).json()
    assert new_request(bob, asn=3320, node_id="abcdef0999").status_code == 201
    page = member.get("/api/v1/requests").json()
    assert [r["id"] for r in page["items"]] == [mine["id"]]
    assert page["total"] == 1
    assert page["limit"] == 50
    assert page["offset"] == 0


@pytest.mark.both_databases
def test_list_filters_and_paginates(member: Session) -> None:
    ids = [new_request(member, node_id=f"abcdef012{i}").json()["id"] for i in range(5)]
    member.post(f"/api/v1/requests/{ids[0]}/cancel")
    page = member.get("/api/v1/requests", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 5
    assert [r["id"] for r in page["items"]] == [ids[3], ids[2]]  # newest first
    cancelled = member.get("/api/v1/requests", params={"status": "cancelled"}).json()
    assert [r["id"] for r in cancelled["items"]] == [ids[0]]
    assert cancelled["total"] == 1
    bad = member.get("/api/v1/requests", params={"status": "bogus"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "validation_failed"


def test_someone_elses_request_is_not_found(
    member: Session, login_as: Callable[..., Session]
) -> None:
    bob = login_as("bob", asns=(3320,))
    theirs = new_request(bob, asn=3320).json()
    for response in (
        member.get(f"/api/v1/requests/{theirs['id']}"),
        member.post(f"/api/v1/requests/{theirs['id']}/cancel"),
        member.get(f"/api/v1/requests/{uuid.uuid4()}"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "request_not_found"
    assert bob.get(f"/api/v1/requests/{theirs['id']}").json()["status"] == "pending"


def test_members_of_the_same_asn_share_requests(
    member: Session, login_as: Callable[..., Session]
) -> None:
    colleague = login_as("colleague", asns=(213035,))
    mine = new_request(member).json()
    assert colleague.get(f"/api/v1/requests/{mine['id']}").status_code == 200


def test_cancel_only_while_pending(member: Session, admin: Session, database: Database) -> None:
    request = new_request(member).json()
    admin.post(f"/api/v1/admin/requests/{request['id']}/approve")
    response = member.post(f"/api/v1/requests/{request['id']}/cancel")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    other = new_request(member, node_id="abcdef0999").json()
    cancelled = member.post(f"/api/v1/requests/{other['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    with database.session() as db:
        actions = db.scalars(
            select(AuditEvent.action).where(AuditEvent.request_id == uuid.UUID(other["id"]))
        ).all()
    assert actions == ["request.created", "request.cancelled"]


def test_members_cannot_use_admin_endpoints(member: Session) -> None:
    request = new_request(member).json()
    for response in (
        member.get("/api/v1/admin/requests"),
        member.post(f"/api/v1/admin/requests/{request['id']}/approve"),
        member.get("/api/v1/admin/audit"),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "admin_required"


@pytest.mark.both_databases
def test_policy_auto_approves_at_creation(
    make_client: AppFactory,
    login_as: Callable[..., Session],
    database: Database,
    dispatcher: RecordingDispatcher,
) -> None:
    # alice holds her ASN through a local grant: trusted here (test_policy_api.py covers PeeringDB
    # perms and the other guardrails).
    client = make_client(
        workflow={"approval_mode": "policy_auto"},
        policy={"auto_approval": {"allow_local_grants": True}},
    )
    session = login_as("alice", asns=(213035,), client=client)
    assert session.get("/api/v1/onboarding/context").json()["approval_mode"] == "policy_auto"
    body = new_request(session).json()
    assert body["status"] == "approved"
    assert body["approved_by_policy"] is True
    with database.session() as db:
        events = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.request_id == uuid.UUID(body["id"]))
            .order_by(AuditEvent.id)
        ).all()
    assert [(e.action, e.actor, e.to_status) for e in events] == [
        ("request.created", "alice", "pending"),
        ("request.approved", "policy", "approved"),
    ]
    assert events[1].details["by"] == "policy"
    assert dispatcher.seen == [uuid.UUID(body["id"])]
    counts = status_counts(database)
    assert counts[RequestStatus.APPROVED] == 1
    assert counts[RequestStatus.PENDING] == 0
