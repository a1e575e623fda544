"""The Users admin API: list, detail, disable/enable, role, sessions, manual grants; audited,
and an admin cannot disable themselves or drop their own admin role (both databases)."""

from __future__ import annotations

from typing import Any

from tests.support.app import Session
from ztix.db.models import UserAsn
from ztix.db.session import Database
from ztix.workflow import users


def _send(s: Session, method: str, url: str, json: Any = None) -> Any:
    return s.client.request(method, url, json=json, headers={"X-CSRF-Token": s.csrf})


def _id(admin: Session, username: str) -> int:
    listed = admin.get("/api/v1/admin/users").json()
    return int(next(u["id"] for u in listed if u["username"] == username))


def test_list_and_detail(admin: Session, member: Session, database: Database) -> None:
    with database.session() as db:
        alice = users.get_user_by_username(db, "alice")
        assert alice is not None
        db.add(UserAsn(user_id=alice.id, asn=64496, source="peeringdb", network_name="Pdb"))
    listed = admin.get("/api/v1/admin/users")
    assert listed.status_code == 200, listed.text
    rows = {u["username"]: u for u in listed.json()}
    assert rows["root"]["role"] == "admin" and rows["alice"]["role"] == "operator"
    assert rows["alice"]["source"] == "local" and rows["alice"]["is_active"] is True
    assert rows["alice"]["last_login_at"] is not None and rows["alice"]["live_sessions"] == 1
    assert {(g["asn"], g["source"]) for g in rows["alice"]["grants"]} == {
        (13335, "local"),
        (64496, "peeringdb"),
        (213035, "local"),
    }
    detail = admin.get(f"/api/v1/admin/users/{rows['alice']['id']}").json()
    assert len(detail["sessions"]) == 1 and detail["sessions"][0]["method"] == "local"
    assert admin.get("/api/v1/admin/users/999999").json()["code"] == "user_not_found"
    assert member.get("/api/v1/admin/users").json()["code"] == "admin_required"


def test_disable_enable_and_sessions(admin: Session, member: Session) -> None:
    alice = _id(admin, "alice")
    disabled = admin.post(f"/api/v1/admin/users/{alice}/disable")
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["is_active"] is False and disabled.json()["live_sessions"] == 0
    assert member.get("/api/v1/me").status_code == 401  # her session ended with it
    assert admin.post(f"/api/v1/admin/users/{alice}/enable").json()["is_active"] is True
    root = _id(admin, "root")
    refused = admin.post(f"/api/v1/admin/users/{root}/disable")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    actions = [e["action"] for e in admin.get("/api/v1/admin/audit").json()["items"]]
    assert actions[:2] == ["user.enabled", "user.disabled"]


def test_revoke_sessions(admin: Session, member: Session) -> None:
    alice = _id(admin, "alice")
    answer = admin.post(f"/api/v1/admin/users/{alice}/sessions/revoke")
    assert answer.json() == {"revoked": 1}
    assert member.get("/api/v1/me").status_code == 401


def test_roles(admin: Session, member: Session) -> None:
    alice, root = _id(admin, "alice"), _id(admin, "root")
    made = _send(admin, "PUT", f"/api/v1/admin/users/{alice}/role", {"role": "admin"})
    assert made.status_code == 200 and made.json()["role"] == "admin"
    assert member.get("/api/v1/admin/users").status_code == 200  # now an admin
    back = _send(admin, "PUT", f"/api/v1/admin/users/{alice}/role", {"role": "operator"})
    assert back.json()["role"] == "operator"
    own = _send(admin, "PUT", f"/api/v1/admin/users/{root}/role", {"role": "operator"})
    assert own.status_code == 403 and own.json()["code"] == "forbidden"
    assert (
        _send(admin, "PUT", f"/api/v1/admin/users/{alice}/role", {"role": "god"}).status_code == 422
    )
    last = admin.get("/api/v1/admin/audit", params={"action": "user.role_changed"}).json()
    assert last["items"][0]["details"] == {
        "username": "alice",
        "before": "admin",
        "after": "operator",
    }


def test_manual_grants(admin: Session, member: Session, database: Database) -> None:
    alice = _id(admin, "alice")
    added = admin.post(f"/api/v1/admin/users/{alice}/grants", json={"asn": 64500})
    assert added.status_code == 422 and added.json()["code"] == "invalid_asn"  # private
    added = admin.post(f"/api/v1/admin/users/{alice}/grants", json={"asn": 3320})
    assert added.status_code == 200, added.text
    assert 3320 in {g["asn"] for g in added.json()["grants"]}
    again = admin.post(f"/api/v1/admin/users/{alice}/grants", json={"asn": 3320})
    assert [g["asn"] for g in again.json()["grants"]].count(3320) == 1
    removed = _send(admin, "DELETE", f"/api/v1/admin/users/{alice}/grants/3320")
    assert 3320 not in {g["asn"] for g in removed.json()["grants"]}
    with database.session() as db:
        user = users.get_user_by_username(db, "alice")
        assert user is not None
        db.add(UserAsn(user_id=user.id, asn=64496, source="peeringdb"))
    refused = _send(admin, "DELETE", f"/api/v1/admin/users/{alice}/grants/64496")
    assert refused.status_code == 403 and "follows it" in refused.json()["detail"]
    trail = admin.get("/api/v1/admin/audit", params={"actor": "root"}).json()["items"]
    assert [e["action"] for e in trail][:2] == ["user.grant_removed", "user.grant_added"]
