"""Draining a route server over the API: admin only, audited, one server of a pair at a time,
a sync requested after commit, the state shown in the route-server list."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.app import NWID, NWID_B, AppFactory, RecordingDispatcher, create_user, login
from ztix.db.models import AuditEvent, RouteServerState
from ztix.db.session import Database


def server(name: str, order: int, network: str, last: int) -> dict[str, Any]:
    return {
        "name": name,
        "transport": "local",
        "asn": 6695,
        "router_id": f"192.0.2.{last}",
        "network": network,
        "ipv4": f"192.0.2.{last}" if network == NWID else f"198.51.100.{last}",
        "ipv6": f"2001:db8:ab::{last}" if network == NWID else f"2001:db8:cd::{last}",
        "pair_order": order,
    }


ROUTESERVERS = {
    "servers": [
        server("rs1", 0, NWID, 1),
        server("rs2", 1, NWID, 2),
        server("rs3", 0, NWID_B, 3),  # another network: its own pair
        {**server("rs4", 1, NWID_B, 4), "enabled": False},
    ]
}


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client(routeservers=ROUTESERVERS)


def test_drain_and_undrain(
    client: TestClient, database: Database, dispatcher: RecordingDispatcher
) -> None:
    create_user(database, "root", admin=True)
    admin = login(client, "root")
    out = admin.post("/api/v1/admin/route-servers/rs1/drain")
    assert out.status_code == 200, out.text
    assert out.json()["drained"] is True
    assert out.json()["sync"]["drained_by"] == "root"
    assert dispatcher.route_server_syncs == 1
    listed = {s["name"]: s for s in admin.get("/api/v1/admin/route-servers").json()}
    assert listed["rs1"]["drained"] is True and listed["rs2"]["drained"] is False
    with database.session() as db:
        state = db.get(RouteServerState, "rs1")
        assert state is not None and state.drained and state.sync_requested_at is not None
        events = db.scalars(select(AuditEvent.action).where(AuditEvent.target_id == "rs1")).all()
        assert "routeserver.drained" in events

    # Draining again changes nothing (no second audit event, no sync).
    assert admin.post("/api/v1/admin/route-servers/rs1/drain").status_code == 200
    assert dispatcher.route_server_syncs == 1

    out = admin.post("/api/v1/admin/route-servers/rs1/undrain")
    assert out.status_code == 200 and out.json()["drained"] is False
    assert dispatcher.route_server_syncs == 2
    with database.session() as db:
        actions = db.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == "rs1").order_by(AuditEvent.id)
        ).all()
        assert [a for a in actions if a.startswith("routeserver.")] == [
            "routeserver.drained",
            "routeserver.undrained",
        ]


def test_never_both_servers_of_a_pair(
    client: TestClient, database: Database, dispatcher: RecordingDispatcher
) -> None:
    create_user(database, "root", admin=True)
    admin = login(client, "root")
    assert admin.post("/api/v1/admin/route-servers/rs1/drain").status_code == 200
    refused = admin.post("/api/v1/admin/route-servers/rs2/drain")
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "route_server_pair_drained"
    assert "rs1" in problem["detail"] and problem["drained"] == ["rs1"]
    with database.session() as db:
        state = db.get(RouteServerState, "rs2")
        assert state is None or not state.drained  # nothing half-applied
    # A server of another network is not part of the pair.
    assert admin.post("/api/v1/admin/route-servers/rs3/drain").status_code == 200
    # After undraining rs1, rs2 may be drained.
    assert admin.post("/api/v1/admin/route-servers/rs1/undrain").status_code == 200
    assert admin.post("/api/v1/admin/route-servers/rs2/drain").status_code == 200


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [("nope", 404, "route_server_not_found"), ("rs4", 409, "route_server_disabled")],
)
def test_unknown_or_disabled_servers(
    client: TestClient, database: Database, name: str, status: int, code: str
) -> None:
    create_user(database, "root", admin=True)
    admin = login(client, "root")
    response = admin.post(f"/api/v1/admin/route-servers/{name}/drain")
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_members_cannot_drain(client: TestClient, database: Database) -> None:
    create_user(database, "alice", asns=(213035,))
    member = login(client, "alice")
    response = member.post("/api/v1/admin/route-servers/rs1/drain")
    assert (response.status_code, response.json()["code"]) == (403, "admin_required")
    no_csrf = client.post("/api/v1/admin/route-servers/rs1/drain")
    assert no_csrf.status_code == 403
