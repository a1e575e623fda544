"""The IRR pages' API: a member sees its own IRR data only; admins list every member's,
set an override (validated, all or nothing) and start a refresh."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.app import NWID, Session
from ztix.db.models import AuditEvent, IrrData
from ztix.db.session import Database

NODE = "abcdef0123"


def new_request(session: Session, asn: int = 213035) -> Any:
    response = session.post(
        "/api/v1/requests", json={"asn": asn, "zt_network_id": NWID, "node_id": NODE}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_member_sees_its_irr_status(member: Session) -> None:
    request = new_request(member)
    response = member.get(f"/api/v1/requests/{request['id']}/irr")
    assert response.status_code == 200
    body = response.json()
    assert body["asn"] == 213035
    assert body["enabled"] is False
    # No PeeringDB record, no override: the member's own ASN, never expanded yet.
    assert (body["next_as_set"], body["next_choice"]) == ("AS213035", "asn")
    assert body["prefixes_ipv4"] is None and body["fetched_at"] is None
    assert body["last_error"] is None and body["failures_total"] == 0


def test_someone_elses_irr_status_is_not_found(
    member: Session, login_as: Callable[..., Session]
) -> None:
    request = new_request(member)
    bob = login_as("bob", asns=(3320,))
    response = bob.get(f"/api/v1/requests/{request['id']}/irr")
    assert response.status_code == 404
    assert response.json()["code"] == "request_not_found"


def test_admin_override_is_validated_and_audited(
    admin: Session, member: Session, database: Database
) -> None:
    request = new_request(member)
    bad = admin.put("/api/v1/admin/irr/213035/override", json={"as_set": "AS-OK; reboot"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "irr_as_set_invalid"
    with database.read_session() as db:
        assert db.get(IrrData, 213035) is None  # nothing half-applied

    ok = admin.put("/api/v1/admin/irr/213035/override", json={"as_set": "ripe::as-foo"})
    assert ok.status_code == 200
    assert ok.json()["override"] == "RIPE::AS-FOO"
    assert (ok.json()["next_as_set"], ok.json()["next_choice"]) == ("RIPE::AS-FOO", "override")
    # The member sees what will be expanded and why.
    mine = member.get(f"/api/v1/requests/{request['id']}/irr").json()
    assert (mine["next_as_set"], mine["override"]) == ("RIPE::AS-FOO", "RIPE::AS-FOO")

    listed = admin.get("/api/v1/admin/irr").json()
    assert [(s["asn"], s["override"]) for s in listed] == [(213035, "RIPE::AS-FOO")]

    cleared = admin.put("/api/v1/admin/irr/213035/override", json={"as_set": None})
    assert cleared.json()["override"] is None
    assert cleared.json()["next_choice"] == "asn"
    with database.read_session() as db:
        events = db.query(AuditEvent).filter_by(action="irr.override").count()
    assert events == 2


def test_members_cannot_use_the_admin_irr_api(member: Session) -> None:
    assert member.get("/api/v1/admin/irr").status_code == 403
    response = member.put("/api/v1/admin/irr/213035/override", json={"as_set": "AS-X"})
    assert response.status_code == 403
    assert member.post("/api/v1/admin/irr/refresh", json={}).status_code == 403


def test_refresh_is_refused_when_irr_is_off(admin: Session) -> None:
    response = admin.post("/api/v1/admin/irr/refresh", json={"asn": 213035})
    assert response.status_code == 409
    assert response.json()["code"] == "irr_disabled"


def test_override_of_an_impossible_asn(admin: Session) -> None:
    response = admin.put("/api/v1/admin/irr/0/override", json={"as_set": "AS-X"})
    assert response.status_code == 422
