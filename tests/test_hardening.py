"""Security headers on every answer, HSTS only over TLS, and the request body limit."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from tests.conftest import AppFactory


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
    from tests.conftest import PASSWORD, create_user

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
