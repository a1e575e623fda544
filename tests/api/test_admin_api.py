"""The admin queue, decisions, retry and the audit trail, black-box over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from tests.support.admin import force_failed
from tests.support.app import (
    NWID,
    NWID_B,
    RecordingDispatcher,
    Session,
    status_counts,
)
from ztix.db.base import utcnow
from ztix.db.models import JoinRequest
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus
from ztix.workflow import audit
from ztix.workflow import requests as service

NODE = "abcdef0123"


def new_request(session: Session, **overrides: Any) -> dict[str, Any]:
    body = {"asn": 213035, "zt_network_id": NWID, "node_id": NODE, **overrides}
    response = session.post("/api/v1/requests", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_approve(
    admin: Session, member: Session, database: Database, dispatcher: RecordingDispatcher
) -> None:
    request = new_request(member)
    response = admin.post(f"/api/v1/admin/requests/{request['id']}/approve")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "approved"
    assert body["decided_by"] == "root"
    assert body["created_by"] == "alice"
    assert [(e["action"], e["from_status"], e["to_status"], e["actor"]) for e in body["audit"]] == [
        ("request.created", None, "pending", "alice"),
        ("request.approved", "pending", "approved", "root"),
    ]
    # Handed to the job system after the commit, once.
    assert dispatcher.seen == [uuid.UUID(request["id"])]
    assert member.get(f"/api/v1/requests/{request['id']}").json()["status"] == "approved"
    again = admin.post(f"/api/v1/admin/requests/{request['id']}/approve")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert again.json()["status"] == 409
    assert dispatcher.seen == [uuid.UUID(request["id"])]


def test_reject_needs_a_reason(admin: Session, member: Session) -> None:
    request = new_request(member)
    url = f"/api/v1/admin/requests/{request['id']}/reject"
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        response = admin.post(url, json=body)
        assert response.status_code == 422
        assert response.json()["code"] in {"validation_failed", "reason_required"}
    assert admin.post(url, json={"reason": "   "}).json()["code"] == "reason_required"
    response = admin.post(url, json={"reason": "Not a network we can verify"})
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["decision_reason"] == "Not a network we can verify"
    mine = member.get(f"/api/v1/requests/{request['id']}").json()
    assert mine["decision_reason"] == "Not a network we can verify"
    assert response.json()["audit"][-1]["details"] == {"reason": "Not a network we can verify"}


@pytest.mark.both_databases
def test_retry_only_failed_and_resets_attempts(
    admin: Session, member: Session, database: Database, dispatcher: RecordingDispatcher
) -> None:
    request = new_request(member)
    retry_url = f"/api/v1/admin/requests/{request['id']}/retry"
    assert admin.post(retry_url).json()["code"] == "invalid_transition"
    admin.post(f"/api/v1/admin/requests/{request['id']}/approve")
    force_failed(database, request["id"])
    failed = admin.get(f"/api/v1/admin/requests/{request['id']}").json()
    assert failed["status"] == "failed"
    assert failed["last_error"] == {
        "code": "controller_unavailable",
        "message": None,
        "system": "zerotier",
    }
    assert failed["attempts"] == 3
    response = admin.post(retry_url)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "approved"
    assert body["attempts"] == 0
    retried = body["audit"][-1]
    assert retried["action"] == "request.retried"
    assert retried["details"]["attempts"] == 3
    assert dispatcher.seen.count(uuid.UUID(request["id"])) == 2


@pytest.mark.parametrize("action", ["approve", "retry"])
def test_unknown_request(admin: Session, action: str) -> None:
    response = admin.post(f"/api/v1/admin/requests/{uuid.uuid4()}/{action}")
    assert response.status_code == 404
    assert response.json()["code"] == "request_not_found"
    assert admin.get("/api/v1/admin/requests/not-a-uuid").json()["code"] == "validation_failed"


def test_a_failed_commit_dispatches_nothing(
    database: Database, member: Session, dispatcher: RecordingDispatcher
) -> None:
    request = new_request(member)
    with pytest.raises(RuntimeError), database.session() as db:
        service.approve(db, uuid.UUID(request["id"]), audit.SYSTEM)
        raise RuntimeError("crash before commit")
    assert dispatcher.seen == []
    assert member.get(f"/api/v1/requests/{request['id']}").json()["status"] == "pending"


@pytest.mark.both_databases
def test_queue_filters_sorting_pagination_and_counts(
    admin: Session, member: Session, login_as: Callable[..., Session], database: Database
) -> None:
    bob = login_as("bob", asns=(3320,))
    a = new_request(member)
    b = new_request(member, node_id="abcdef0124", zt_network_id=NWID_B)
    # A node belongs to one member per network: c and d use nodes of their own.
    c = new_request(bob, asn=3320, node_id="abcdef0125")
    d = new_request(member, asn=13335, node_id="abcdef0126")
    admin.post(f"/api/v1/admin/requests/{b['id']}/approve")
    admin.post(f"/api/v1/admin/requests/{c['id']}/reject", json={"reason": "no"})
    with database.session() as db:
        db.execute(
            update(JoinRequest)
            .where(JoinRequest.id == uuid.UUID(a["id"]))
            .values(created_at=utcnow() - timedelta(hours=2))
        )

    def ids(**params: Any) -> list[str]:
        page = admin.get("/api/v1/admin/requests", params=params).json()
        return [r["id"] for r in page["items"]]

    page = admin.get("/api/v1/admin/requests").json()
    assert page["total"] == 4
    assert page["counts"] == {
        **{s.value: 0 for s in RequestStatus},
        "pending": 2,
        "approved": 1,
        "rejected": 1,
    }
    assert [r["id"] for r in page["items"]] == [d["id"], c["id"], b["id"], a["id"]]
    assert ids(status="pending") == [d["id"], a["id"]]
    assert ids(status=["pending", "rejected"]) == [d["id"], c["id"], a["id"]]
    assert ids(asn=3320) == [c["id"]]
    assert ids(zt_network_id=NWID_B.upper()) == [b["id"]]
    assert ids(min_age_minutes=60) == [a["id"]]
    assert ids(sort="created_at") == [a["id"], b["id"], c["id"], d["id"]]
    assert ids(sort="asn")[0] == c["id"]
    assert ids(sort="-asn")[0] in {a["id"], b["id"]}
    assert ids(limit=2, offset=1) == [c["id"], b["id"]]
    filtered = admin.get("/api/v1/admin/requests", params={"status": "pending", "asn": 213035})
    assert filtered.json()["total"] == 1
    for params, code in [
        ({"sort": "node_id"}, "validation_failed"),
        ({"limit": 0}, "validation_failed"),
        ({"limit": 1000}, "validation_failed"),
        ({"zt_network_id": "zz"}, "invalid_network_id"),
    ]:
        response = admin.get("/api/v1/admin/requests", params=params)
        assert response.status_code == 422
        assert response.json()["code"] == code
    assert status_counts(database)["pending"] == 2


@pytest.mark.both_databases
def test_counters_match_the_rows(admin: Session, member: Session, database: Database) -> None:
    requests = [new_request(member, node_id=f"abcdef01{i:02d}") for i in range(6)]
    admin.post(f"/api/v1/admin/requests/{requests[0]['id']}/approve")
    admin.post(f"/api/v1/admin/requests/{requests[1]['id']}/reject", json={"reason": "x"})
    member.post(f"/api/v1/requests/{requests[2]['id']}/cancel")
    with database.session() as db:
        from sqlalchemy import func, select

        actual = dict(
            db.execute(select(JoinRequest.status, func.count()).group_by(JoinRequest.status)).all()
        )
    counts = status_counts(database)
    for status in RequestStatus:
        assert counts[status.value] == actual.get(status.value, 0)


def test_audit_endpoint(admin: Session, member: Session) -> None:
    request = new_request(member)
    admin.post(f"/api/v1/admin/requests/{request['id']}/approve")
    everything = admin.get("/api/v1/admin/audit").json()
    actions = [e["action"] for e in everything["items"]]
    assert actions[0] == "request.approved"  # newest first
    assert {"login.succeeded", "user.created", "request.created"} <= set(actions)
    by_request = admin.get("/api/v1/admin/audit", params={"request_id": request["id"]}).json()
    assert [e["action"] for e in by_request["items"]] == ["request.approved", "request.created"]
    assert by_request["total"] == 2
    by_actor = admin.get("/api/v1/admin/audit", params={"actor": "alice"}).json()
    assert {e["actor"] for e in by_actor["items"]} == {"alice"}
    by_action = admin.get("/api/v1/admin/audit", params={"action": "login.succeeded"}).json()
    assert by_action["total"] == 2
    assert all(e["client_address"] == "testclient" for e in by_action["items"])
    paged = admin.get("/api/v1/admin/audit", params={"limit": 1, "offset": 1}).json()
    assert len(paged["items"]) == 1
    assert paged["total"] == everything["total"]


def test_approve_is_for_pending_and_retry_for_failed(
    admin: Session, member: Session, database: Database
) -> None:
    pending = new_request(member)
    retry = admin.post(f"/api/v1/admin/requests/{pending['id']}/retry")
    assert retry.json()["code"] == "invalid_transition"
    assert retry.json()["current_status"] == "pending"
    failed = new_request(member, node_id="abcdef0999")
    admin.post(f"/api/v1/admin/requests/{failed['id']}/approve")
    force_failed(database, failed["id"])
    approve = admin.post(f"/api/v1/admin/requests/{failed['id']}/approve")
    assert approve.json()["code"] == "invalid_transition"


@pytest.mark.both_databases
def test_totals_from_counters_agree_with_counting(
    admin: Session, member: Session, database: Database
) -> None:
    """Network and age filters take their totals from the counters; they must be exact."""
    made = [new_request(member, node_id=f"abcdef02{i:02d}") for i in range(4)]
    made += [
        new_request(member, node_id=f"abcdef03{i:02d}", zt_network_id=NWID_B) for i in range(3)
    ]
    admin.post(f"/api/v1/admin/requests/{made[0]['id']}/approve")
    admin.post(f"/api/v1/admin/requests/{made[5]['id']}/reject", json={"reason": "x"})
    old = [made[1]["id"], made[5]["id"], made[6]["id"]]
    with database.session() as db:
        db.execute(
            update(JoinRequest)
            .where(JoinRequest.id.in_([uuid.UUID(i) for i in old]))
            .values(created_at=utcnow() - timedelta(days=2))
        )

    def total(**params: Any) -> int:
        page = admin.get("/api/v1/admin/requests", params=params).json()
        assert len(page["items"]) == page["total"]  # all fit on one page here
        return int(page["total"])

    assert total(zt_network_id=NWID) == 4
    assert total(zt_network_id=NWID_B) == 3
    assert total(zt_network_id=NWID_B, status="pending") == 2
    assert total(min_age_minutes=60) == 3
    assert total(min_age_minutes=60, status="pending") == 2
    assert total(min_age_minutes=60, zt_network_id=NWID_B) == 2
    assert total(min_age_minutes=60, zt_network_id=NWID_B, status="rejected") == 1
    assert total(zt_network_id="8056c2e21c0000ff") == 0
