"""The eligibility and auto-approval policy, black-box over HTTP on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tests.support.app import (
    NETWORKS,
    NWID,
    NWID_B,
    AppFactory,
    RecordingDispatcher,
    Session,
)
from tests.support.policy import STRICT, PeeringDBRest, closed_port, seed_peeringdb
from ztix.db.base import utcnow
from ztix.db.models import AuditEvent, JoinRequest, PeeringDBNetwork
from ztix.db.session import Database

Member = Callable[..., Session]


def with_policy(base: dict[str, Any], **sections: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in sections.items():
        merged[key] = {**merged.get(key, {}), **value}
    return merged


def networks(**per_network: dict[str, Any]) -> list[dict[str, Any]]:
    """The test networks with policy keys: ``networks(b={"manual_approval": True})``."""
    return [
        {**NETWORKS[0], **per_network.get("a", {})},
        {**NETWORKS[1], **per_network.get("b", {})},
    ]


def ix(
    make_client: AppFactory,
    *,
    mode: str = "policy_auto",
    policy: dict[str, Any] = STRICT,
    peeringdb_url: str | None = None,
    **overrides: Any,
) -> TestClient:
    """An app under ``policy``; PeeringDB's REST API is a closed port unless given."""
    url = peeringdb_url or f"http://127.0.0.1:{closed_port()}/api"
    return make_client(
        workflow={"approval_mode": mode},
        policy=policy,
        peeringdb_api={"base_url": url, "timeout_seconds": 2},
        **overrides,
    )


def new_request(session: Session, asn: int = 213035, **overrides: Any) -> Any:
    # A node belongs to one member per network: by default each ASN asks for its own.
    node = "abcdef0123" if asn == 213035 else f"{asn:010x}"
    body = {"asn": asn, "zt_network_id": NWID, "node_id": node, **overrides}
    return session.post("/api/v1/requests", json=body)


def created(session: Session, asn: int = 213035, **overrides: Any) -> dict[str, Any]:
    response = new_request(session, asn, **overrides)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def reasons(body: dict[str, Any]) -> list[str]:
    return [r["code"] for r in body["policy"]["reasons"]]


def verdict(admin: Session, request_id: str) -> dict[str, Any]:
    detail = admin.get(f"/api/v1/admin/requests/{request_id}").json()
    result: dict[str, Any] = detail["policy_verdict"]
    return result


def check_statuses(v: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in v["checks"]}


def request_count(database: Database) -> int:
    with database.session() as db:
        return int(db.scalar(select(func.count()).select_from(JoinRequest)) or 0)


# --- approved at once ---------------------------------------------------------------------


@pytest.mark.both_databases
def test_eligible_request_is_approved_at_once_and_dispatched(
    make_client: AppFactory,
    peeringdb_member: Member,
    admin: Session,
    database: Database,
    dispatcher: RecordingDispatcher,
) -> None:
    client = ix(make_client)
    ada = peeringdb_member("ada", {213035: 15}, client=client)
    seed_peeringdb(database, 213035, policy_general="Selective")
    body = created(ada)
    assert body["status"] == "approved"
    assert body["approved_by_policy"] is True
    assert body["policy"] == {"decision": "allow", "reasons": []}
    assert dispatcher.seen == [uuid.UUID(body["id"])]

    v = verdict(admin, body["id"])
    assert v["decision"] == "allow" and v["auto_approval"] is True
    assert check_statuses(v) == {
        "asn_denylist": "pass",
        "asn_allowlist": "pass",
        "peeringdb_record": "pass",
        "peeringdb_route_servers": "pass",
        "peeringdb_policy_general": "pass",
        "network_allowlist": "pass",
        "network_manual": "pass",
        "peeringdb_perms": "pass",
        "daily_limit": "pass",
    }
    allow = next(c for c in v["checks"] if c["name"] == "asn_allowlist")
    assert allow["evidence"]["matched"] == "213035"
    general = next(c for c in v["checks"] if c["name"] == "peeringdb_policy_general")
    assert general["evidence"]["value"] == "Selective"
    assert general["evidence"]["source"] == "cache"

    with database.session() as db:
        events = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.request_id == uuid.UUID(body["id"]))
            .order_by(AuditEvent.id)
        ).all()
    assert [(e.action, e.actor, e.to_status) for e in events] == [
        ("request.created", "ada", "pending"),
        ("request.approved", "policy", "approved"),
    ]
    assert events[0].details["policy"]["decision"] == "allow"
    assert events[1].details["by"] == "policy"
    assert "peeringdb_perms" in events[1].details["checks_passed"]


# --- refused ------------------------------------------------------------------------------


def test_denied_asn_is_refused_naming_the_rule_not_the_entry(
    make_client: AppFactory, peeringdb_member: Member, admin: Session, database: Database
) -> None:
    client = ix(make_client)
    # 3325 is on the allow list (3320-3330) and on the deny list (3324-3326): deny wins.
    bob = peeringdb_member("bob", {3325: 15}, client=client)
    seed_peeringdb(database, 3325)
    response = new_request(bob, 3325)
    assert response.status_code == 403
    problem = response.json()
    assert problem["code"] == "asn_not_eligible"
    assert problem["rule"] == "policy.denied_asns"
    assert problem["check"] == "asn_denylist"
    assert problem["detail"] == "AS3325 may not join this IX (policy.denied_asns)"
    assert "3324-3326" not in response.text
    assert request_count(database) == 0
    # The refusal is in the audit trail, with the whole verdict for the admin.
    page = admin.get("/api/v1/admin/audit", params={"action": "request.refused"}).json()
    [event] = page["items"]
    assert event["actor"] == "bob"
    assert event["target_type"] == "asn" and event["target_id"] == "3325"
    assert event["details"]["zt_network_id"] == NWID
    assert event["details"]["policy"]["denied_by"] == "asn_denylist"
    denylist = event["details"]["policy"]["checks"][0]
    assert denylist["evidence"]["matched"] == "3324-3326"


def test_asn_not_on_the_allow_list_is_refused(
    make_client: AppFactory, peeringdb_member: Member, database: Database
) -> None:
    client = ix(make_client)
    carol = peeringdb_member("carol", {174: 15}, client=client)
    response = new_request(carol, 174)
    assert response.status_code == 403
    assert response.json()["code"] == "asn_not_eligible"
    assert response.json()["rule"] == "policy.allowed_asns"
    assert request_count(database) == 0


def test_per_network_allow_list(
    make_client: AppFactory, peeringdb_member: Member, database: Database
) -> None:
    client = ix(make_client, networks=networks(b={"allowed_asns": ["3320-3330"]}))
    ada = peeringdb_member("ada", {213035: 15, 3320: 15}, client=client)
    seed_peeringdb(database, 213035)
    seed_peeringdb(database, 3320)
    response = new_request(ada, zt_network_id=NWID_B)
    assert response.status_code == 403
    problem = response.json()
    assert problem["code"] == "network_not_eligible"
    assert problem["rule"] == f"networks[{NWID_B}].allowed_asns"
    assert problem["detail"] == (
        f"AS213035 may not join IX network ZT-IX Lab (networks[{NWID_B}].allowed_asns)"
    )
    assert created(ada)["status"] == "approved"  # the other network has no list
    assert created(ada, 3320, zt_network_id=NWID_B)["status"] == "approved"


def test_failed_peeringdb_requirement_refuses_under_deny(
    make_client: AppFactory, peeringdb_member: Member, database: Database
) -> None:
    policy = with_policy(STRICT, peeringdb={"on_failure": "deny"})
    client = ix(make_client, policy=policy)
    ada = peeringdb_member("ada", {213035: 15}, client=client)
    seed_peeringdb(database, 213035, policy_general="No")
    response = new_request(ada)
    assert response.status_code == 403
    problem = response.json()
    assert problem["code"] == "asn_not_eligible"
    assert problem["rule"] == "policy.peeringdb.min_policy_general"
    assert "policy_general is 'No'" in problem["detail"]


def test_refusals_apply_in_manual_mode_too(
    make_client: AppFactory, peeringdb_member: Member
) -> None:
    client = ix(make_client, mode="manual_admin")
    bob = peeringdb_member("bob", {3325: 15}, client=client)
    assert new_request(bob, 3325).json()["code"] == "asn_not_eligible"


# --- parked for an admin, with reasons ------------------------------------------------------


def test_failed_peeringdb_requirement_parks_the_request_with_reasons(
    make_client: AppFactory,
    peeringdb_member: Member,
    admin: Session,
    database: Database,
    dispatcher: RecordingDispatcher,
) -> None:
    client = ix(make_client)
    ada = peeringdb_member("ada", {213035: 15, 13335: 15}, client=client)
    seed_peeringdb(database, 213035, never_via_route_servers=True)
    seed_peeringdb(database, 13335)
    body = created(ada)
    assert body["status"] == "pending"
    assert body["approved_by_policy"] is False
    assert body["policy"] == {
        "decision": "needs_admin",
        "reasons": [
            {
                "code": "peeringdb_requirement_failed",
                "message": "Your network's PeeringDB record does not meet the IX's "
                "requirements; an IX admin will review the request.",
            }
        ],
    }
    # The member sees the reasons, not the evidence: that is in the admin's view.
    assert "policy_verdict" not in body
    member_view = ada.get(f"/api/v1/requests/{body['id']}").json()
    assert member_view["policy"] == body["policy"]
    assert dispatcher.seen == []

    v = verdict(admin, body["id"])
    rs = next(c for c in v["checks"] if c["name"] == "peeringdb_route_servers")
    assert rs["status"] == "fail"
    assert rs["evidence"]["field"] == "info_never_via_route_servers"
    assert rs["evidence"]["value"] is True

    approved = created(ada, 13335)
    assert approved["status"] == "approved"
    queue = admin.get(
        "/api/v1/admin/requests",
        params={"needs_human_reason": "peeringdb_requirement_failed", "status": "pending"},
    ).json()
    assert [r["id"] for r in queue["items"]] == [body["id"]]
    assert queue["total"] == 1
    assert queue["items"][0]["policy_verdict"]["reasons"][0]["code"] == (
        "peeringdb_requirement_failed"
    )
    others = admin.get(
        "/api/v1/admin/requests", params={"needs_human_reason": "daily_limit_reached"}
    )
    assert others.json()["items"] == [] and others.json()["total"] == 0
    bad = admin.get("/api/v1/admin/requests", params={"needs_human_reason": "bored"})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_failed"

    # The admin decides; the verdict stays as it was made.
    decided = admin.post(f"/api/v1/admin/requests/{body['id']}/approve").json()
    assert decided["status"] == "approved" and decided["approved_by_policy"] is False
    assert decided["policy_verdict"]["decision"] == "needs_admin"


def test_unreachable_peeringdb_is_unknown_not_pass(
    make_client: AppFactory, peeringdb_member: Member, admin: Session, database: Database
) -> None:
    client = ix(make_client)  # PeeringDB's API on a closed port, nothing cached
    ada = peeringdb_member("ada", {213035: 15}, client=client)
    body = created(ada)
    assert body["status"] == "pending"
    assert reasons(body) == ["peeringdb_unknown"]
    v = verdict(admin, body["id"])
    pdb = [
        c for c in v["checks"] if c["name"].startswith("peeringdb_") and "field" in c["evidence"]
    ]
    assert [c["status"] for c in pdb] == ["unknown", "unknown", "unknown"]
    assert "unreachable" in pdb[0]["evidence"]["why"]
    with database.session() as db:
        assert db.get(PeeringDBNetwork, 213035) is None
    queue = admin.get("/api/v1/admin/requests", params={"needs_human_reason": "peeringdb_unknown"})
    assert [r["id"] for r in queue.json()["items"]] == [body["id"]]


def test_stale_cache_is_not_trusted_when_peeringdb_is_down(
    make_client: AppFactory, peeringdb_member: Member, database: Database
) -> None:
    client = ix(make_client)
    ada = peeringdb_member("ada", {213035: 15}, client=client)
    seed_peeringdb(database, 213035, age=timedelta(days=2))  # older than cache_ttl_seconds
    body = created(ada)
    assert body["status"] == "pending"
    assert reasons(body) == ["peeringdb_unknown"]


@pytest.mark.both_databases
def test_missing_or_stale_data_is_fetched_once_and_cached(
    make_client: AppFactory,
    peeringdb_member: Member,
    admin: Session,
    database: Database,
    peeringdb_rest: PeeringDBRest,
) -> None:
    peeringdb_rest.add(213035, policy_general="Open")
    client = ix(make_client, peeringdb_url=peeringdb_rest.base_url)
    ada = peeringdb_member("ada", {213035: 15, 13335: 15}, client=client)
    # What the cache says is two days old: the policy asks PeeringDB again.
    seed_peeringdb(database, 213035, never_via_route_servers=True, age=timedelta(days=2))
    first = created(ada)
    assert first["status"] == "approved"
    assert len(peeringdb_rest.requests) == 1
    assert "asn__in=213035" in peeringdb_rest.requests[0]
    rs = next(c for c in verdict(admin, first["id"])["checks"] if c["name"] == "peeringdb_record")
    assert rs["evidence"]["source"] == "peeringdb"
    with database.session() as db:
        row = db.get(PeeringDBNetwork, 213035)
        assert row is not None and row.info_never_via_route_servers is False
    # Fresh now: the next request reads the cache.
    assert created(ada, node_id="abcdef0124")["status"] == "approved"
    assert len(peeringdb_rest.requests) == 1
    # No net record at PeeringDB: a failed requirement, remembered as "not found".
    body = created(ada, 13335)
    assert body["status"] == "pending"
    assert reasons(body) == ["peeringdb_requirement_failed"]
    with database.session() as db:
        missing = db.get(PeeringDBNetwork, 13335)
        assert missing is not None and missing.found is False


def test_rate_limited_peeringdb_is_unknown_and_backs_off(
    make_client: AppFactory,
    peeringdb_member: Member,
    database: Database,
    peeringdb_rest: PeeringDBRest,
) -> None:
    peeringdb_rest.add(213035)
    peeringdb_rest.status = 429
    client = ix(make_client, peeringdb_url=peeringdb_rest.base_url)
    ada = peeringdb_member("ada", {213035: 15}, client=client)
    first = created(ada)
    assert first["status"] == "pending" and reasons(first) == ["peeringdb_unknown"]
    # Within Retry-After PeeringDB is not asked again, even once it would answer.
    peeringdb_rest.status = 200
    second = created(ada, node_id="abcdef0124")
    assert reasons(second) == ["peeringdb_unknown"]
    assert len(peeringdb_rest.requests) == 1


def test_peeringdb_is_not_asked_for_a_request_refused_earlier(
    make_client: AppFactory,
    peeringdb_member: Member,
    peeringdb_rest: PeeringDBRest,
) -> None:
    client = ix(make_client, peeringdb_url=peeringdb_rest.base_url)
    ada = peeringdb_member("ada", {213035: 15}, client=client)
    assert new_request(ada, 3320).json()["code"] == "asn_not_authorized"
    assert new_request(ada, node_id="ff00000000").json()["code"] == "invalid_node_id"
    assert peeringdb_rest.requests == []


def test_local_grant_waits_for_an_admin(
    make_client: AppFactory,
    login_as: Callable[..., Session],
    admin: Session,
    database: Database,
    dispatcher: RecordingDispatcher,
) -> None:
    client = ix(make_client)
    alice = login_as("alice", asns=(213035,), client=client)  # granted by the CLI
    seed_peeringdb(database, 213035)
    body = created(alice)
    assert body["status"] == "pending"
    assert reasons(body) == ["no_peeringdb_identity"]
    perms = next(c for c in verdict(admin, body["id"])["checks"] if c["name"] == "peeringdb_perms")
    assert perms["evidence"] == {"peeringdb_perms": None, "required": 2, "local_grant": True}
    assert admin.post(f"/api/v1/admin/requests/{body['id']}/approve").json()["status"] == (
        "approved"
    )
    assert dispatcher.seen == [uuid.UUID(body["id"])]


def test_insufficient_peeringdb_perms_wait_for_an_admin(
    make_client: AppFactory, peeringdb_member: Member, database: Database
) -> None:
    policy = with_policy(STRICT, auto_approval={"required_peeringdb_perms": 8})
    client = ix(make_client, policy=policy)
    ada = peeringdb_member("ada", {213035: 7}, client=client)  # no delete bit
    seed_peeringdb(database, 213035)
    assert reasons(created(ada)) == ["peeringdb_perms_insufficient"]


def test_manual_network_stays_manual_under_policy_auto(
    make_client: AppFactory, peeringdb_member: Member, database: Database
) -> None:
    client = ix(make_client, networks=networks(a={"manual_approval": True}))
    ada = peeringdb_member("ada", {213035: 15}, client=client)
    seed_peeringdb(database, 213035)
    manual = created(ada)
    assert manual["status"] == "pending"
    assert reasons(manual) == ["network_manual"]
    assert created(ada, zt_network_id=NWID_B)["status"] == "approved"


@pytest.mark.both_databases
def test_daily_limit_of_automatic_approvals(
    make_client: AppFactory, peeringdb_member: Member, database: Database
) -> None:
    client = ix(make_client)  # at most 3 automatic approvals per ASN per day
    ada = peeringdb_member("ada", {213035: 15, 13335: 15}, client=client)
    seed_peeringdb(database, 213035)
    seed_peeringdb(database, 13335)
    nodes = [f"abcdef012{i}" for i in range(5)]
    statuses = [created(ada, node_id=n)["status"] for n in nodes[:3]]
    assert statuses == ["approved"] * 3
    fourth = created(ada, node_id=nodes[3])
    assert fourth["status"] == "pending"
    assert reasons(fourth) == ["daily_limit_reached"]
    assert created(ada, 13335)["status"] == "approved"  # the limit is per ASN
    # A day later the window has moved on.
    with database.session() as db:
        db.execute(
            update(JoinRequest)
            .where(JoinRequest.asn == 213035)
            .values(created_at=utcnow() - timedelta(hours=25))
        )
    assert created(ada, node_id=nodes[4])["status"] == "approved"


def test_manual_mode_records_the_verdict(
    make_client: AppFactory, peeringdb_member: Member, admin: Session, database: Database
) -> None:
    client = ix(make_client, mode="manual_admin")
    ada = peeringdb_member("ada", {213035: 15}, client=client)
    seed_peeringdb(database, 213035)
    body = created(ada)
    assert body["status"] == "pending"
    assert reasons(body) == ["manual_approval_mode"]
    v = verdict(admin, body["id"])
    assert v["auto_approval"] is False
    assert "peeringdb_perms" not in check_statuses(v)  # guardrails are for policy_auto
    assert set(check_statuses(v).values()) == {"pass"}
    queue = admin.get(
        "/api/v1/admin/requests", params={"needs_human_reason": "manual_approval_mode"}
    ).json()
    assert queue["total"] == 1


def test_requests_older_than_the_policy_have_no_verdict(
    member: Session, admin: Session, database: Database
) -> None:
    body = created(member)
    with database.session() as db:
        db.execute(update(JoinRequest).values(policy_verdict=None, policy_summary=None))
    assert member.get(f"/api/v1/requests/{body['id']}").json()["policy"] is None
    assert member.get("/api/v1/requests").json()["items"][0]["policy"] is None
    assert admin.get("/api/v1/admin/requests").json()["items"][0]["policy_verdict"] is None


def test_openapi_documents_the_policy(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    create = spec["paths"]["/api/v1/requests"]["post"]
    assert "`asn_not_eligible`" in create["responses"]["403"]["description"]
    assert "`network_not_eligible`" in create["responses"]["403"]["description"]
    queue = spec["paths"]["/api/v1/admin/requests"]["get"]
    assert "needs_human_reason" in {p["name"] for p in queue["parameters"]}
