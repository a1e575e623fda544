"""End to end: a member logs in with PeeringDB, asks to join under policy_auto and a strict
policy, and the request is approved by the policy and provisioned on ZeroTier."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.app import AppFactory, RecordingDispatcher, Session
from tests.support.oidc_provider import FakePeeringDB, FakeUser, network
from tests.support.policy import STRICT, closed_port, seed_peeringdb
from tests.support.zt_fixtures import ix_networks
from ztix.config import Settings
from ztix.db.session import Database
from ztix.jobs.tasks import JobContext, process_request
from ztix.zerotier.emulator import ControllerEmulator


@pytest.fixture(scope="module")
def provider() -> Iterator[FakePeeringDB]:
    with FakePeeringDB() as fake:
        yield fake


def peeringdb_login(client: TestClient) -> Session:
    """The SPA's calls and the browser's trip to PeeringDB (played by httpx)."""
    url = client.post("/api/v1/auth/peeringdb/start").json()["authorize_url"]
    redirect = httpx.get(url, follow_redirects=False)
    back = {k: v[0] for k, v in parse_qs(urlsplit(redirect.headers["location"]).query).items()}
    response = client.post("/api/v1/auth/peeringdb/callback", json=back)
    assert response.status_code == 200, response.text
    return Session(client, response.json()["csrf_token"])


def test_peeringdb_member_is_approved_by_policy_and_provisioned(
    make_client: AppFactory,
    zt_settings: Callable[..., Settings],
    job_context: Callable[..., JobContext],
    database: Database,
    dispatcher: RecordingDispatcher,
    emulator: ControllerEmulator,
    provider: FakePeeringDB,
) -> None:
    provider.reset()
    provider.user = FakeUser(
        id=4242,
        networks=[network(213035, 15, name="Example Networks"), network(3325, 15)],
    )
    settings = zt_settings()
    client = make_client(
        networks=ix_networks(emulator),
        peeringdb=provider.config(),
        workflow={"approval_mode": "policy_auto"},
        policy=STRICT,
        peeringdb_api={"base_url": f"http://127.0.0.1:{closed_port()}/api"},
    )
    ada = peeringdb_login(client)
    seed_peeringdb(database, 213035)
    nwid = settings.networks[0].zt_network_id

    refused = ada.post(
        "/api/v1/requests", json={"asn": 3325, "zt_network_id": nwid, "node_id": "abcdef0123"}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "asn_not_eligible"

    body = ada.post(
        "/api/v1/requests", json={"asn": 213035, "zt_network_id": nwid, "node_id": "abcdef0123"}
    ).json()
    assert body["status"] == "approved"
    assert body["policy"] == {"decision": "allow", "reasons": []}
    request_id = uuid.UUID(body["id"])
    assert dispatcher.seen == [request_id]

    assert process_request(job_context(settings), request_id).done
    shown = ada.get(f"/api/v1/requests/{body['id']}").json()
    assert shown["status"] == "active"
    assert shown["membership"]["authorized"] is True
    member = emulator.member(nwid, "abcdef0123")
    assert member is not None and member["authorized"] is True
