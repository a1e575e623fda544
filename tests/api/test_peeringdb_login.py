"""PeeringDB login end to end: the SPA's calls to our API, against a PeeringDB-like provider.

The browser's part (following the authorize redirect) is played by httpx; everything else
is the real API on SQLite and PostgreSQL, talking OIDC over HTTP to tests.support's provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.support.app import AppFactory, create_user
from tests.support.oidc_provider import FakePeeringDB, FakeUser, network
from tests.support.peeringdb_login import CALLBACK, START, authorize
from ztix.db.base import utcnow
from ztix.db.models import AuditEvent, OidcLoginState, User
from ztix.db.session import Database


@pytest.fixture(scope="module")
def provider() -> Iterator[FakePeeringDB]:
    with FakePeeringDB() as fake:
        yield fake


@pytest.fixture
def fake(provider: FakePeeringDB) -> FakePeeringDB:
    provider.reset()
    return provider


@pytest.fixture
def pdb_client(make_client: AppFactory, fake: FakePeeringDB) -> TestClient:
    return make_client(peeringdb=fake.config(admin_user_ids=(9999,)))


def login(client: TestClient) -> httpx.Response:
    return client.post(CALLBACK, json=authorize(client))


def failures(database: Database) -> list[AuditEvent]:
    with database.session() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed")))


def test_login_creates_the_user_with_eligible_asns(
    pdb_client: TestClient, fake: FakePeeringDB, database: Database
) -> None:
    fake.user = FakeUser(
        id=4242,
        networks=[
            network(213035, 15, name="Example Networks"),
            network(13335, 3, name="Updater"),
            network(3320, 1, name="Read only"),  # perms lacks bit 2
            network(64500, 15, name="Documentation ASN"),  # cannot peer
        ],
    )
    response = login(pdb_client)
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["username"] == "peeringdb:4242"
    assert me["login_method"] == "peeringdb"
    assert me["role"] == "operator"
    assert {(a["asn"], a["source"], a["peeringdb_perms"]) for a in me["asns"]} == {
        (213035, "peeringdb", 15),
        (13335, "peeringdb", 3),
    }
    assert "HttpOnly" in response.headers["set-cookie"]
    assert pdb_client.get("/api/v1/me").json()["username"] == "peeringdb:4242"
    # client_secret_post: the secret travelled in the form body, never in a Basic header.
    [token_request] = fake.token_requests
    assert token_request.authorization is None
    assert token_request.form["client_secret"] == fake.client_secret
    assert token_request.form["code_verifier"]
    with database.session() as db:
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "login.succeeded"))
    assert event.details == {"method": "peeringdb", "asns": [13335, 213035]}


def test_login_again_replaces_peeringdb_asns_and_keeps_local_ones(
    pdb_client: TestClient, fake: FakePeeringDB, database: Database
) -> None:
    fake.user = FakeUser(id=4242, networks=[network(213035, 15)])
    assert login(pdb_client).status_code == 200
    with database.session() as db:
        user = db.scalar(select(User).where(User.peeringdb_id == 4242))
        assert user is not None
        from ztix.db.models import UserAsn

        user.asns.append(UserAsn(asn=3320, source="local"))
    fake.user = FakeUser(id=4242, networks=[network(13335, 15)])
    me = login(pdb_client).json()
    assert {(a["asn"], a["source"]) for a in me["asns"]} == {
        (13335, "peeringdb"),
        (3320, "local"),
    }


def test_configured_admin(pdb_client: TestClient, fake: FakePeeringDB) -> None:
    fake.user = FakeUser(id=9999, networks=[])
    me = login(pdb_client).json()
    assert me["role"] == "admin"
    assert pdb_client.get("/api/v1/admin/requests").status_code == 200


def test_state_is_single_use(pdb_client: TestClient, database: Database) -> None:
    answer = authorize(pdb_client)
    assert pdb_client.post(CALLBACK, json=answer).status_code == 200
    replay = pdb_client.post(CALLBACK, json=answer)
    assert replay.status_code == 400
    assert replay.json()["code"] == "state_replayed"
    assert failures(database)[-1].details["code"] == "state_replayed"


def test_unknown_state(pdb_client: TestClient, database: Database) -> None:
    answer = authorize(pdb_client)
    response = pdb_client.post(CALLBACK, json={**answer, "state": "forged"})
    assert response.status_code == 400
    assert response.json()["code"] == "state_invalid"
    [event] = failures(database)
    assert event.details["method"] == "peeringdb"


def test_expired_state(pdb_client: TestClient, database: Database) -> None:
    answer = authorize(pdb_client)
    with database.session() as db:
        db.execute(update(OidcLoginState).values(created_at=utcnow() - timedelta(hours=1)))
    response = pdb_client.post(CALLBACK, json=answer)
    assert response.json()["code"] == "state_expired"


def test_state_is_bound_to_the_browser_that_started(
    pdb_client: TestClient, make_client: AppFactory, fake: FakePeeringDB
) -> None:
    answer = authorize(pdb_client)
    other_browser = make_client(peeringdb=fake.config())
    response = other_browser.post(CALLBACK, json=answer)
    assert response.status_code == 400
    assert response.json()["code"] == "state_invalid"
    assert "another browser" in response.json()["detail"]
    # ...and the rightful browser can still finish.
    assert pdb_client.post(CALLBACK, json=answer).status_code == 200


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("wrong_nonce", "nonce"),
        ("unknown_key", "signature"),
        ("forged_signature", "signature"),
        ("wrong_aud", "aud"),
        ("wrong_iss", "iss"),
        ("expired", "exp"),
        ("iat_future", "iat"),
        ("alg_none", "alg"),
        ("hs256_public_key", "alg"),
    ],
)
def test_bad_id_tokens_are_refused(
    pdb_client: TestClient, fake: FakePeeringDB, database: Database, fault: Any, check: str
) -> None:
    fake.id_token_fault = fault
    response = login(pdb_client)
    assert response.status_code == 401
    problem = response.json()
    assert problem["code"] == "id_token_invalid"
    assert problem["check"] == check
    assert "ztix_session" not in pdb_client.cookies
    [event] = failures(database)
    assert event.details["code"] == "id_token_invalid"
    assert event.details["check"] == check


def test_unverified_user(pdb_client: TestClient, fake: FakePeeringDB) -> None:
    fake.user = FakeUser(verified_user=False)
    assert login(pdb_client).json()["code"] == "user_not_verified"
    fake.user = FakeUser(email_verified=False)
    assert login(pdb_client).json()["code"] == "user_not_verified"


def test_no_eligible_networks(pdb_client: TestClient, fake: FakePeeringDB) -> None:
    fake.user = FakeUser(networks=[network(213035, 1)])
    response = login(pdb_client)
    assert response.status_code == 403
    assert response.json()["code"] == "no_eligible_networks"
    fake.withheld_scopes = {"networks"}  # the claim comes back null
    fake.user = FakeUser(networks=[network(213035, 15)])
    assert login(pdb_client).json()["code"] == "no_eligible_networks"


def test_token_exchange_failure(pdb_client: TestClient, fake: FakePeeringDB) -> None:
    fake.token_fault = "invalid_grant"
    response = login(pdb_client)
    assert response.status_code == 502
    assert response.json()["code"] == "token_exchange_failed"


def test_user_denies_at_peeringdb(pdb_client: TestClient, fake: FakePeeringDB) -> None:
    fake.deny_authorization = True
    answer = authorize(pdb_client)
    assert answer["error"] == "access_denied"
    response = pdb_client.post(CALLBACK, json=answer)
    assert response.status_code == 400
    assert response.json()["code"] == "provider_error"


def test_disabled_peeringdb_user(
    pdb_client: TestClient, fake: FakePeeringDB, database: Database
) -> None:
    from ztix.workflow import audit, users

    assert login(pdb_client).status_code == 200
    with database.session() as db:
        users.disable_user(db, audit.CLI, f"peeringdb:{fake.user.id}")
    assert login(pdb_client).json()["code"] == "account_disabled"


def test_peeringdb_disabled_or_unconfigured(make_client: AppFactory) -> None:
    for config in ({"enabled": False}, {"enabled": True, "client_id": ""}):
        response = make_client(peeringdb=config).post(START)
        assert response.status_code == 404
        assert response.json()["code"] == "peeringdb_disabled"


def test_provider_unreachable(make_client: AppFactory, fake: FakePeeringDB) -> None:
    client = make_client(
        peeringdb=fake.config(discovery_url="http://127.0.0.1:9/.well-known/openid-configuration")
    )
    response = client.post(START)
    assert response.status_code == 502
    assert response.json()["code"] == "provider_unavailable"


def test_local_and_peeringdb_users_do_not_collide(
    pdb_client: TestClient, database: Database, fake: FakePeeringDB
) -> None:
    create_user(database, "4242")
    assert login(pdb_client).json()["username"] == f"peeringdb:{fake.user.id}"
