"""Security headers on every answer, HSTS only over TLS, and the request body limit."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi.testclient import TestClient

from tests.support.app import AppFactory, Session, create_user, login
from ztix.db.session import Database


def test_api_answers_carry_security_headers(client: TestClient) -> None:
    for response in (client.get("/api/v1/me"), client.get("/healthz"), client.get("/api/v1/nope")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in response.headers  # plain http here


def test_hsts_over_tls_and_from_trusted_proxies_only(make_client: AppFactory) -> None:
    direct = make_client()
    direct.base_url = direct.base_url.copy_with(scheme="https")  # type: ignore[assignment]
    assert "max-age=" in direct.get("/healthz").headers["Strict-Transport-Security"]
    spoofed = make_client()
    plain = spoofed.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in plain.headers  # the peer is no trusted proxy


def test_oversized_bodies_are_refused(make_client: AppFactory) -> None:
    client = make_client(server={"max_body_bytes": 2048})
    response = client.post(
        "/api/v1/auth/local/login",
        content=b'{"username": "' + b"a" * 4096 + b'", "password": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"username": "'
        for _ in range(8):
            yield b"a" * 512
        yield b'", "password": "x"}'

    chunked = client.post(
        "/api/v1/auth/local/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert chunked.status_code == 413
    assert chunked.json()["code"] == "payload_too_large"
    small = client.post("/api/v1/auth/local/login", json={"username": "nobody", "password": "x"})
    assert small.status_code == 401  # under the limit: an ordinary answer


def test_no_handler_runs_on_part_of_an_oversized_body(
    make_client: AppFactory, database: object
) -> None:
    """A complete JSON document followed by padding past the limit: the login must not
    happen (no session), though the first part alone would have been a valid request."""
    from tests.support.app import PASSWORD, create_user

    client = make_client(server={"max_body_bytes": 2048})
    create_user(database, "alice")  # type: ignore[arg-type]
    valid = b'{"username": "alice", "password": "' + PASSWORD.encode() + b'"}'

    def chunks() -> Iterator[bytes]:
        yield valid
        for _ in range(8):
            yield b" " * 512

    response = client.post(
        "/api/v1/auth/local/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "ztix_session" not in client.cookies


def test_writes_are_limited_per_user(
    make_client: AppFactory, login_as: Callable[..., Session]
) -> None:
    client = make_client(auth={"writes_per_user": {"attempts": 3, "window_seconds": 60}})
    alice = login_as("alice", asns=(64500,), client=client)
    answers = [
        alice.post("/api/v1/requests/00000000-0000-4000-8000-000000000000/cancel").status_code
        for _ in range(4)
    ]
    assert answers == [404, 404, 404, 429]  # each write counts, whatever its outcome
    refused = alice.post("/api/v1/requests/00000000-0000-4000-8000-000000000000/cancel")
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert alice.get("/api/v1/requests").status_code == 200  # reads are not limited
    # Another user on the same app (same address) still writes.
    bob = login_as("bob", asns=(64501,), client=alice.client)
    assert (
        bob.post("/api/v1/requests/00000000-0000-4000-8000-000000000000/cancel").status_code == 404
    )
    # Admins work through queues: only their address's limit applies to them.
    root = login_as("root", admin=True, client=alice.client)
    nobody = "/api/v1/admin/requests/00000000-0000-4000-8000-000000000000/approve"
    assert [root.post(nobody).status_code for _ in range(5)] == [404] * 5


def test_writes_are_limited_per_address_anonymous_ones_included(
    make_client: AppFactory, database: Database
) -> None:
    client = make_client(auth={"writes_per_address": {"attempts": 4, "window_seconds": 60}})
    create_user(database, "carol")
    alice = login(client, "carol")  # write 1 from this address
    assert alice.post("/api/v1/auth/logout").status_code == 204  # write 2
    for _ in range(2):  # writes 3 and 4
        assert client.post("/api/v1/auth/local/login", json={}).status_code == 422
    refused = client.post("/api/v1/auth/local/login", json={"username": "carol", "password": "x"})
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert client.get("/api/v1/me").status_code == 401  # reads still answered


def test_every_write_route_documents_rate_limited(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in {"post", "put", "patch", "delete"}:
                limited = operation["responses"]["429"]
                assert "`rate_limited`" in limited["description"], (method, path)
                assert "Retry-After" in limited["headers"], (method, path)
                assert list(limited["content"]) == ["application/problem+json"]
    login = spec["paths"]["/api/v1/auth/local/login"]["post"]["responses"]["429"]
    assert "`too_many_attempts`" in login["description"]
