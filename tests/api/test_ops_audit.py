"""The global audit trail for admins: filters (actor, ASN, request, action, time range),
paging and the CSV export of the filtered view (both databases)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.support.app import NWID, Session
from ztix.db.base import utcnow
from ztix.db.session import Database
from ztix.workflow import audit


def _request(member: Session, asn: int, node: str) -> str:
    body = {"asn": asn, "zt_network_id": NWID, "node_id": node}
    response = member.post("/api/v1/requests", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_filters_paging_and_csv(admin: Session, member: Session, database: Database) -> None:
    a = _request(member, 213035, "abcdef0001")
    b = _request(member, 13335, "abcdef0002")
    admin.post(f"/api/v1/admin/requests/{a}/approve")
    admin.post(f"/api/v1/admin/requests/{b}/reject", json={"reason": "=HYPERLINK(1)"})
    with database.session() as db:  # an event about the ASN itself, not a request
        audit.record(db, audit.CLI, "grant.added", target_type="asn", target_id=213035)

    def actions(**params: object) -> list[str]:
        response = admin.get("/api/v1/admin/audit", params=params)
        assert response.status_code == 200, response.text
        return [e["action"] for e in response.json()["items"]]

    everything = actions()
    assert "request.created" in everything and everything[0] == "grant.added"  # newest first
    assert actions(asn=213035) == ["grant.added", "request.approved", "request.created"]
    assert actions(request_id=b) == ["request.rejected", "request.created"]
    assert actions(actor="root")[:2] == ["request.rejected", "request.approved"]
    assert "request.created" not in actions(actor="root")
    assert actions(action="request.created", asn=13335) == ["request.created"]
    later = (utcnow() + timedelta(hours=1)).isoformat()
    assert actions(since=later) == []
    assert len(actions(until=later)) == len(everything)
    naive = admin.get("/api/v1/admin/audit", params={"since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422 and naive.json()["code"] == "validation_failed"

    first = admin.get("/api/v1/admin/audit", params={"limit": 2}).json()
    second = admin.get("/api/v1/admin/audit", params={"limit": 2, "offset": 2}).json()
    assert first["total"] == second["total"] == len(everything)
    assert {e["id"] for e in first["items"]}.isdisjoint(e["id"] for e in second["items"])

    exported = admin.get("/api/v1/admin/audit.csv", params={"asn": 13335})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["action"] for r in rows] == ["request.rejected", "request.created"]
    assert rows[0]["actor"] == "root" and rows[0]["request_id"] == b
    # A cell that a spreadsheet would run as a formula stays text.
    assert '"reason": "=HYPERLINK(1)"' in rows[0]["details"]
    whole = list(csv.DictReader(io.StringIO(admin.get("/api/v1/admin/audit.csv").text)))
    assert len(whole) == len(everything)


def test_members_cannot_read_the_trail(member: Session) -> None:
    for path in ("/api/v1/admin/audit", "/api/v1/admin/audit.csv"):
        response = member.get(path)
        assert response.status_code == 403 and response.json()["code"] == "admin_required"
