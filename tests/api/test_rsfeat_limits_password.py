"""A member's BGP session password and the admin's receive-limit override, over the API:
validated, stored encrypted, never returned or audited in clear, and rendered into the
route servers' desired configuration."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.app import NWID, AppFactory, Session, create_user, login
from ztix.auth.tokens import generate_key
from ztix.config import Settings
from ztix.db.models import AddressAssignment, AuditEvent, JoinRequest
from ztix.db.session import Database
from ztix.routeserver.peer_groups import member_section
from ztix.routeserver.render import render
from ztix.workflow import routeserver_desired as desired_state

PASSWORD = "Md5.key+42=ok"
KEY = generate_key()
ROUTESERVERS: dict[str, Any] = {
    "servers": [
        {
            "name": "rs1",
            "transport": "local",
            "asn": 6695,
            "router_id": "192.0.2.1",
            "network": NWID,
            "ipv4": "192.0.2.1",
            "ipv6": "2001:db8:ab::1",
        }
    ],
    "password_keys": KEY,
}


def put(session: Session, url: str, body: Any) -> Any:
    return session.client.put(url, json=body, headers={"X-CSRF-Token": session.csrf})


def submit(member: Session) -> str:
    body = {"asn": 213035, "zt_network_id": NWID, "node_id": "abcdef0123"}
    response = member.post("/api/v1/requests", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client(routeservers=ROUTESERVERS)


@pytest.fixture
def settings(client: TestClient) -> Settings:
    app_settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    return app_settings


def test_member_sets_a_password_that_is_never_shown(
    client: TestClient, database: Database, settings: Settings
) -> None:
    create_user(database, "alice", asns=(213035,))
    alice = login(client, "alice")
    rid = submit(alice)
    response = put(alice, f"/api/v1/requests/{rid}/bgp-password", {"password": PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json() == {"bgp_password_set": True}
    listed = alice.get(f"/api/v1/requests/{rid}/route-servers")
    assert listed.json()[0]["bgp_password_set"] is True
    for answer in (listed.text, alice.get(f"/api/v1/requests/{rid}").text, response.text):
        assert PASSWORD not in answer
    with database.session() as db:
        request = db.get(JoinRequest, uuid.UUID(rid))
        assert request is not None and request.bgp_password_encrypted
        assert PASSWORD not in request.bgp_password_encrypted
        events = db.scalars(select(AuditEvent).where(AuditEvent.request_id == request.id)).all()
        assert "request.bgp_password_set" in [e.action for e in events]
        assert all(PASSWORD not in json.dumps(e.details) for e in events)
        # The desired configuration carries it (decrypted), and BIRD gets it in quotes.
        request.status = "active"
        request.zt_authorized = True
        db.add(
            AddressAssignment(
                network_id=request.network_id,
                request=request,
                family=4,
                address="192.0.2.10",
                asn=213035,
            )
        )
        db.flush()
        desired, _ = desired_state.build(db, settings, settings.routeservers.servers[0])
        db.rollback()
    assert desired.peers[0].password == PASSWORD
    section = member_section(render(desired), desired.peers[0].protocol_base)
    assert section is not None and f'password "{PASSWORD}";' in section
    # Clearing it.
    response = put(alice, f"/api/v1/requests/{rid}/bgp-password", {"password": None})
    assert response.json() == {"bgp_password_set": False}


@pytest.mark.parametrize(
    "bad",
    ['abc"def12', "with space 123", "short", "x" * 81, "back\\slash1", "semi;colon1", "ümlaut123"],
)
def test_unsafe_passwords_are_refused_before_anything_is_stored(
    client: TestClient, database: Database, bad: str
) -> None:
    create_user(database, "alice", asns=(213035,))
    alice = login(client, "alice")
    rid = submit(alice)
    response = put(alice, f"/api/v1/requests/{rid}/bgp-password", {"password": bad})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_bgp_password"
    assert bad not in response.text
    with database.session() as db:
        request = db.get(JoinRequest, uuid.UUID(rid))
        assert request is not None and request.bgp_password_encrypted is None


def test_nobody_else_sets_it_and_no_key_means_no_password(
    make_client: AppFactory, database: Database
) -> None:
    client = make_client(routeservers={**ROUTESERVERS, "password_keys": ""})
    create_user(database, "alice", asns=(213035,))
    create_user(database, "bob", asns=(13335,))
    alice = login(client, "alice")
    rid = submit(alice)
    bob = login(client, "bob")
    response = put(bob, f"/api/v1/requests/{rid}/bgp-password", {"password": PASSWORD})
    assert (response.status_code, response.json()["code"]) == (404, "request_not_found")
    alice = login(client, "alice")
    response = put(alice, f"/api/v1/requests/{rid}/bgp-password", {"password": PASSWORD})
    assert (response.status_code, response.json()["code"]) == (409, "bgp_password_unavailable")


def test_admin_receive_limit_override_reaches_the_desired_state(
    client: TestClient, database: Database, settings: Settings
) -> None:
    create_user(database, "alice", asns=(213035,))
    create_user(database, "root", admin=True)
    rid = submit(login(client, "alice"))
    alice = login(client, "alice")
    denied = put(alice, f"/api/v1/admin/requests/{rid}/receive-limit", {"ipv4": 500})
    assert denied.status_code == 403
    admin = login(client, "root")
    response = put(admin, f"/api/v1/admin/requests/{rid}/receive-limit", {"ipv4": 500})
    assert response.status_code == 200, response.text
    with database.session() as db:
        request = db.get(JoinRequest, uuid.UUID(rid))
        assert request is not None
        assert (request.receive_limit_ipv4_override, request.receive_limit_ipv6_override) == (
            500,
            None,
        )
        request.status = "active"
        request.zt_authorized = True
        db.flush()
        desired, limits = desired_state.build(db, settings, settings.routeservers.servers[0])
        db.rollback()
    peer = desired.peers[0]
    # IPv4: the override; IPv6: the default receive limit (no PeeringDB data).
    assert (peer.receive_limit_ipv4, peer.receive_limit_ipv6) == (500, 100)
    assert limits[0].receive is not None and limits[0].receive.source == "override/default"
