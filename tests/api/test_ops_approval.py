"""Approval with settings over HTTP: max-prefix overrides and a note, shown to admins, checked
before anything changes (both databases)."""

from __future__ import annotations

from tests.support.app import NWID, Session


def _pending(member: Session, node: str = "abcdef0123") -> str:
    response = member.post(
        "/api/v1/requests", json={"asn": 213035, "zt_network_id": NWID, "node_id": node}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_approve_with_limits_and_a_note(admin: Session, member: Session) -> None:
    rid = _pending(member)
    response = admin.post(
        f"/api/v1/admin/requests/{rid}/approve",
        json={"max_prefix_ipv4": 250, "max_prefix_ipv6": 40, "note": " transit customer cone "},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "approved"
    assert (body["max_prefix_ipv4_override"], body["max_prefix_ipv6_override"]) == (250, 40)
    assert body["approval_note"] == "transit customer cone"
    approved = body["audit"][-1]
    assert approved["action"] == "request.approved"
    assert approved["details"] == {
        "by": "admin",
        "max_prefix_ipv4": 250,
        "max_prefix_ipv6": 40,
        "note": "transit customer cone",
    }
    # The member sees the decision, not the admins' note.
    seen = member.get(f"/api/v1/requests/{rid}").json()
    assert seen["status"] == "approved" and "approval_note" not in seen
    # Listed in the queue too.
    listed = admin.get("/api/v1/admin/requests", params={"status": "approved"}).json()["items"]
    assert listed[0]["max_prefix_ipv4_override"] == 250


def test_one_family_and_no_body_keep_the_rest_unset(admin: Session, member: Session) -> None:
    rid = _pending(member)
    body = admin.post(f"/api/v1/admin/requests/{rid}/approve", json={"max_prefix_ipv6": 9}).json()
    assert (body["max_prefix_ipv4_override"], body["max_prefix_ipv6_override"]) == (None, 9)
    assert body["approval_note"] is None
    other = _pending(member, node="abcdef0124")
    plain = admin.post(f"/api/v1/admin/requests/{other}/approve")
    assert plain.status_code == 200 and plain.json()["max_prefix_ipv4_override"] is None


def test_bad_settings_change_nothing(admin: Session, member: Session) -> None:
    rid = _pending(member)
    for bad in (
        {"max_prefix_ipv4": 0},
        {"max_prefix_ipv6": 10_000_001},
        {"max_prefix_ipv4": "1_000"},
        {"note": "x" * 2001},
        {"extra": 1},
    ):
        response = admin.post(f"/api/v1/admin/requests/{rid}/approve", json=bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["code"] == "validation_failed"
    detail = admin.get(f"/api/v1/admin/requests/{rid}").json()
    assert detail["status"] == "pending"
    assert detail["max_prefix_ipv4_override"] is None
    assert [e["action"] for e in detail["audit"]] == ["request.created"]
