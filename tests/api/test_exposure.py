"""Issue 12 §5: what /readyz and /metrics tell whom. Anonymous callers get readiness as a
status alone; the checks and their reasons go to loopback clients and logged-in admins.
/metrics answers loopback clients, and others only with the configured bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.app import LOOPBACK, AppFactory, RecordingDispatcher, login, make_settings
from ztix.api.app import create_app
from ztix.config import load_settings
from ztix.db.session import Database

REMOTE = ("198.51.100.7", 40000)
CLOSED_PG = "postgresql://postgres@127.0.0.1:1/x"


def _as(client: TestClient, peer: tuple[str, int]) -> TestClient:
    """The same app, reached from another address."""
    return TestClient(client.app, client=peer)


@pytest.fixture
def down() -> Iterator[TestClient]:
    """An app whose database is a closed port: never ready."""
    database = Database(CLOSED_PG)
    settings = make_settings(CLOSED_PG, zerotier={"provider": "central"})
    app = create_app(settings, database=database, dispatcher=RecordingDispatcher(seen=[]))
    app.state.readiness.ttl = 0
    yield TestClient(app, client=REMOTE)
    database.dispose()


@pytest.mark.both_databases
def test_readyz_gives_anonymous_callers_the_status_only(make_client: AppFactory) -> None:
    remote = _as(make_client(zerotier={"provider": "central"}), REMOTE)
    response = remote.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_unready_tells_anonymous_callers_no_reason(down: TestClient) -> None:
    response = down.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unready"}
    assert "Connection refused" not in response.text
    # With a session cookie but no database to check it against: still anonymous, no 500.
    down.cookies.set("ztix_session", "whatever")
    assert down.get("/readyz").json() == {"status": "unready"}


def test_readyz_details_for_loopback_clients(down: TestClient) -> None:
    local = _as(down, LOOPBACK)
    body = local.get("/readyz").json()
    assert body["status"] == "unready"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["reason"]
    # A request a proxy on this host forwarded is not a loopback client.
    forwarded = local.get("/readyz", headers={"X-Forwarded-For": "203.0.113.9"})
    assert forwarded.json() == {"status": "unready"}


def test_readyz_details_for_admins_not_members(make_client: AppFactory, database: Database) -> None:
    from tests.support.app import create_user

    app_client = make_client(zerotier={"provider": "central"})
    create_user(database, "root", admin=True)
    create_user(database, "alice", asns=(213035,))
    admin = _as(app_client, REMOTE)
    login(admin, "root")
    member = _as(app_client, REMOTE)
    login(member, "alice")
    details = admin.get("/readyz").json()
    assert details["status"] == "ready"
    assert details["checks"]["database"] == {"ok": True, "reason": "SELECT 1 answered"}
    assert member.get("/readyz").json() == {"status": "ready"}


def test_metrics_are_loopback_only_without_a_token(make_client: AppFactory) -> None:
    client = make_client()
    assert _as(client, LOOPBACK).get("/metrics").status_code == 200
    refused = _as(client, REMOTE).get("/metrics")
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    assert "ztix_" not in refused.text
    proxied = _as(client, LOOPBACK).get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403
    # No token configured: no bearer value opens it.
    anything = _as(client, REMOTE).get("/metrics", headers={"Authorization": "Bearer "})
    assert anything.status_code == 403


def test_metrics_with_a_bearer_token(make_client: AppFactory) -> None:
    token = "scrape-7f3a9c1e5d"
    client = make_client(server={"metrics_token": token})
    remote = _as(client, REMOTE)
    response = remote.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert "ztix_http_request_duration_seconds" in response.text
    for header in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
        refused = remote.get("/metrics", headers=header)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert refused.json()["code"] == "not_authenticated"
        assert token not in refused.text
    assert _as(client, LOOPBACK).get("/metrics").status_code == 200


def test_metrics_token_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "metrics-token"
    secret.write_text("from-a-file-51c2\n")
    monkeypatch.delenv("ZTIX_CONFIG", raising=False)
    monkeypatch.setenv("ZTIX_SERVER__METRICS_TOKEN_FILE", str(secret))
    settings = load_settings()
    assert settings.server.metrics_token.get_secret_value() == "from-a-file-51c2"
    assert "from-a-file" not in repr(settings)
