"""Local accounts, server-side sessions, CSRF and login throttling, over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.support.app import PASSWORD, AppFactory, create_user, login
from ztix.db.base import utcnow
from ztix.db.models import AuditEvent, UserSession
from ztix.db.session import Database

LOGIN = "/api/v1/auth/local/login"


def events(database: Database, action: str) -> list[AuditEvent]:
    with database.session() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_login_sets_a_safe_cookie_and_me_answers(client: Any, database: Database) -> None:
    create_user(database, "alice", asns=(213035,))
    response = client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "ztix_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # development environment, plain http
    body = response.json()
    me = client.get("/api/v1/me").json()
    assert me["username"] == "alice"
    assert me["role"] == "operator"
    assert me["login_method"] == "local"
    assert [a["asn"] for a in me["asns"]] == [213035]
    assert me["csrf_token"] == body["csrf_token"]
    [event] = events(database, "login.succeeded")
    assert event.actor == "alice"
    assert event.details["method"] == "local"
    assert event.client_address == "testclient"
    assert event.correlation_id


def test_cookie_is_secure_in_production(make_client: AppFactory, database: Database) -> None:
    client = make_client(environment="production")
    create_user(database, "alice")
    response = client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert "Secure" in response.headers["set-cookie"]


def test_session_token_is_stored_only_as_a_hash(client: Any, database: Database) -> None:
    create_user(database, "alice")
    client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    token = client.cookies["ztix_session"]
    with database.session() as db:
        [row] = db.scalars(select(UserSession))
    assert token not in row.token_hash
    assert len(row.token_hash) == 64


def test_wrong_password_and_unknown_user_look_the_same(client: Any, database: Database) -> None:
    create_user(database, "alice")
    wrong = client.post(LOGIN, json={"username": "alice", "password": "nope"})
    unknown = client.post(LOGIN, json={"username": "mallory", "password": "nope"})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "invalid_credentials"
    assert wrong.json()["detail"] == unknown.json()["detail"]
    failures = events(database, "login.failed")
    assert {e.actor for e in failures} == {"alice", "mallory"}
    assert all(e.details["code"] == "invalid_credentials" for e in failures)


def test_disabled_account_is_refused(client: Any, database: Database) -> None:
    from ztix.workflow import audit, users

    create_user(database, "alice")
    with database.session() as db:
        users.disable_user(db, audit.CLI, "alice")
    response = client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    wrong = client.post(LOGIN, json={"username": "alice", "password": "nope"})
    # Issue 12 §3: the right password of a disabled account reveals nothing.
    assert response.status_code == wrong.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert response.json()["detail"] == wrong.json()["detail"]


def test_disabling_revokes_live_sessions(client: Any, database: Database) -> None:
    from ztix.workflow import audit, users

    create_user(database, "alice")
    login(client, "alice")
    assert client.get("/api/v1/me").status_code == 200
    with database.session() as db:
        users.disable_user(db, audit.CLI, "alice")
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_failed_logins_are_throttled_per_username(
    make_client: AppFactory, database: Database
) -> None:
    client = make_client(
        auth={"login_failures_per_username": {"attempts": 3, "window_seconds": 60}}
    )
    create_user(database, "alice")
    for _ in range(3):
        assert client.post(LOGIN, json={"username": "alice", "password": "x"}).status_code == 401
    # Even the right password is refused while the limit holds.
    response = client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.json()["retry_after"] == int(response.headers["Retry-After"])
    # Another username from the same address is not affected by alice's limit.
    create_user(database, "bob")
    assert client.post(LOGIN, json={"username": "bob", "password": PASSWORD}).status_code == 200
    assert any(e.details["code"] == "too_many_attempts" for e in events(database, "login.failed"))


def test_failed_logins_are_throttled_per_address(
    make_client: AppFactory, database: Database
) -> None:
    client = make_client(auth={"login_failures_per_address": {"attempts": 4, "window_seconds": 60}})
    create_user(database, "carol")
    for name in ["u1", "u2", "u3", "u4"]:
        assert client.post(LOGIN, json={"username": name, "password": "x"}).status_code == 401
    response = client.post(LOGIN, json={"username": "carol", "password": PASSWORD})
    assert response.status_code == 429
    assert "Retry-After" in response.headers


def test_spoofed_forwarded_for_does_not_escape_throttling(
    make_client: AppFactory, database: Database
) -> None:
    client = make_client(auth={"login_failures_per_address": {"attempts": 2, "window_seconds": 60}})
    create_user(database, "dave")
    for i in range(2):
        client.post(
            LOGIN,
            json={"username": f"x{i}", "password": "x"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )
    response = client.post(
        LOGIN,
        json={"username": "dave", "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.99"},
    )
    assert response.status_code == 429


def _address(peer: str, forwarded: str, trusted: list[str]) -> str:
    from starlette.requests import Request

    from tests.support.app import make_settings
    from ztix.api.deps import client_address

    scope = {
        "type": "http",
        "client": (peer, 40000),
        "headers": [(b"x-forwarded-for", forwarded.encode())],
    }
    settings = make_settings("sqlite://", server={"trusted_proxies": trusted})
    return client_address(Request(scope), settings)


def test_client_address_behind_trusted_proxies() -> None:
    chain = "198.51.100.7, 203.0.113.5, 127.0.0.2"
    # Not trusted: the header is ignored.
    assert _address("127.0.0.1", chain, []) == "127.0.0.1"
    # Trusted proxy: the nearest address that is not itself a trusted proxy.
    assert _address("127.0.0.1", chain, ["127.0.0.0/8"]) == "203.0.113.5"
    # A header of only proxies gives the peer.
    assert _address("127.0.0.1", "127.0.0.9", ["127.0.0.0/8"]) == "127.0.0.1"


def test_logout_revokes_the_session(client: Any, database: Database) -> None:
    create_user(database, "alice")
    session = login(client, "alice")
    stolen = client.cookies["ztix_session"]
    assert session.post("/api/v1/auth/logout").status_code == 204
    client.cookies.set("ztix_session", stolen)  # a copy of the cookie is now worthless
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert events(database, "logout")


def test_writes_need_the_csrf_token(client: Any, database: Database) -> None:
    create_user(database, "alice", asns=(213035,))
    login(client, "alice")
    body = {"asn": 213035, "zt_network_id": "8056c2e21c000001", "node_id": "abcdef0123"}
    missing = client.post("/api/v1/requests", json=body)
    wrong = client.post("/api/v1/requests", json=body, headers={"X-CSRF-Token": "guess"})
    logout = client.post("/api/v1/auth/logout")
    for response in (missing, wrong, logout):
        assert response.status_code == 403
        assert response.json()["code"] == "csrf_failed"
    assert client.get("/api/v1/me").status_code == 200  # reads need no token


def test_unauthenticated_requests_get_401(client: Any) -> None:
    for url in ["/api/v1/me", "/api/v1/requests", "/api/v1/admin/requests"]:
        response = client.get(url)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.both_databases
def test_idle_and_expired_sessions(client: Any, database: Database) -> None:
    create_user(database, "alice")
    login(client, "alice")
    with database.session() as db:
        db.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=3)))
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"
    # Absolute expiry holds even for a session in constant use.
    login(client, "alice")
    with database.session() as db:
        db.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/api/v1/me").json()["code"] == "session_expired"


def test_login_body_is_validated(client: Any) -> None:
    response = client.post(LOGIN, json={"username": "alice"})
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert problem["errors"][0]["loc"] == ["body", "password"]
