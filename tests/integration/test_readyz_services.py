"""``/readyz`` follows PostgreSQL and Redis being stopped and started again (real servers).

Each dependency is a private server of this module (tests/support/services.py), so stopping
it touches nobody else. The app runs with ``jobs.runner: celery`` on the private Redis (the
``broker`` check) and its database on the private PostgreSQL; readiness is not cached
(``ttl = 0``), so every probe runs the checks. Both URLs carry a password, which must never
reach a probe's answer or the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.app import LOOPBACK, RecordingDispatcher, create_user, login, make_settings
from tests.support.services import PostgresServer, RedisServer
from ztix.api.app import create_app
from ztix.api.routes.health import CheckResult
from ztix.db import migrate
from ztix.db.session import Database
from ztix.workflow import audit, networks

SECRET = "s3cret-Pw0rd"  # in both URLs; trust auth lets PostgreSQL ignore it
RECOVERY_SECONDS = 10.0


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        migrate.upgrade(server.url)
        yield server


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer(password=SECRET) as server:
        yield server


@pytest.fixture
def client(postgres: PostgresServer, redis_server: RedisServer) -> Iterator[TestClient]:
    """The app on both private servers, both running (whatever an earlier test left)."""
    if not postgres.running():
        postgres.start()
    if redis_server.proc is None:
        redis_server.start()
    url = postgres.url.replace("postgres@", f"postgres:{SECRET}@")
    settings = make_settings(
        url,
        zerotier={"provider": "central"},
        jobs={"runner": "celery", "broker_url": redis_server.url},
    )
    database = Database(url)
    with database.session() as db:
        networks.sync_networks(db, audit.SYSTEM, settings.networks)
    app = create_app(settings, database=database, dispatcher=RecordingDispatcher(seen=[]))
    app.state.readiness.ttl = 0  # no caching: each probe runs the checks
    try:
        with TestClient(app, raise_server_exceptions=False, client=LOOPBACK) as test_client:
            yield test_client
    finally:
        database.dispose()


def probe(client: TestClient) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.get("/readyz")
    return response, time.monotonic() - started


def assert_ready(client: TestClient) -> dict[str, Any]:
    response, _ = probe(client)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "broker"}
    assert all(check["ok"] for check in body["checks"].values()), body
    return body


def assert_unready(client: TestClient, failed: str, healthy: str) -> str:
    """503 naming ``failed`` (the other check ok), answered within the checks' deadline
    (``Readiness.timeout``, 2.5 s; a refused connection answers in milliseconds)."""
    response, seconds = probe(client)
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unready"
    assert body["checks"][failed]["ok"] is False
    assert body["checks"][healthy]["ok"] is True, body
    deadline = client.app.state.readiness.timeout  # type: ignore[attr-defined]
    assert seconds < deadline, f"/readyz took {seconds:.2f} s with {failed} down"
    assert SECRET not in response.text
    assert client.get("/healthz").status_code == 200  # alive without the dependency
    reason: str = body["checks"][failed]["reason"]
    return reason


def wait_ready(client: TestClient) -> dict[str, Any]:
    """Ready again within ``RECOVERY_SECONDS``, without sleeping through a cache."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        response, _ = probe(client)
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return assert_ready(client)


def test_readyz_follows_postgresql(
    client: TestClient, postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    create_user(client.app.state.database, "root", admin=True)  # type: ignore[attr-defined]
    session = login(client, "root")
    assert session.get("/api/v1/me").status_code == 200
    assert client.get("/participants.json").status_code == 200
    assert_ready(client)

    postgres.stop("fast")  # the pool's connections die with the server
    with caplog.at_level(logging.WARNING, logger="ztix.api.routes.health"):
        reason = assert_unready(client, failed="database", healthy="broker")
    assert "OperationalError" in reason
    assert "Connection refused" in reason
    assert f"port {postgres.port}" in reason
    assert "sqlalche.me" not in reason  # the driver's words, not SQLAlchemy's wrapper
    assert "database" in caplog.text and reason in caplog.text
    assert SECRET not in caplog.text
    # Ordinary endpoints fail (quickly, 503 with a stable code) while the database is gone;
    # the process lives.
    for down in (client.get("/participants.json"), session.get("/api/v1/me")):
        assert down.status_code == 503, down.text
        assert down.json()["code"] == "database_unavailable"
        assert down.headers["Retry-After"] == "5"
        assert SECRET not in down.text

    postgres.start()  # same port, same data
    wait_ready(client)
    # The pool holds no dead connection: the first ordinary request after the restart works,
    # and the session stored before the outage is still there.
    assert client.get("/participants.json").status_code == 200
    me = session.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "root"

    # A restart nobody saw (no failed request in between): the pooled connections are dead,
    # and the next request still must not get one.
    postgres.stop("fast")
    postgres.start()
    assert session.get("/api/v1/me").status_code == 200
    assert client.get("/participants.json").status_code == 200
    assert_ready(client)


def test_readyz_follows_redis(client: TestClient, redis_server: RedisServer) -> None:
    assert_ready(client)

    redis_server.stop()
    reason = assert_unready(client, failed="broker", healthy="database")
    assert reason.startswith("ConnectionError: ")
    assert f"127.0.0.1:{redis_server.port}" in reason
    assert "Connection refused" in reason

    redis_server.start()  # same port; a broker holds no state readiness needs
    wait_ready(client)


def test_readyz_answers_in_time_when_redis_hangs(
    client: TestClient, redis_server: RedisServer
) -> None:
    """A frozen broker accepts connections and answers nothing: the 1 s socket timeout,
    not the peer, bounds the probe."""
    assert_ready(client)
    redis_server.pause()
    try:
        reason = assert_unready(client, failed="broker", healthy="database")
        assert reason.startswith("TimeoutError: ")
    finally:
        redis_server.resume()
    wait_ready(client)


def test_a_hanging_check_is_not_started_twice(client: TestClient) -> None:
    """Probes during a hang wait on the hanging check, they do not pile up threads."""
    readiness = client.app.state.readiness  # type: ignore[attr-defined]
    readiness.timeout = 0.2
    started = 0
    release = threading.Event()

    def hanging() -> CheckResult:
        nonlocal started
        started += 1
        release.wait(5)
        return CheckResult(True, "late")

    readiness.checks = lambda: {"database": hanging}
    try:
        for _ in range(3):
            response = client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["checks"]["database"]["reason"] == "no answer within 0.2 s"
    finally:
        release.set()
    assert started == 1
    assert client.get("/readyz").status_code == 200  # the late answer is a new run's answer


def test_reasons_never_carry_a_password(client: TestClient) -> None:
    readiness = client.app.state.readiness  # type: ignore[attr-defined]
    database = client.app.state.database  # type: ignore[attr-defined]

    def quoting() -> CheckResult:
        raise RuntimeError(f"cannot use {database.url} nor redis://u:other@host/0 ({SECRET})")

    readiness.checks = lambda: {"database": quoting}
    response = client.get("/readyz")
    assert response.status_code == 503
    reason = response.json()["checks"]["database"]["reason"]
    assert SECRET not in reason and "other" not in reason
    assert reason.startswith("RuntimeError: cannot use postgresql+psycopg://postgres:***@")
    assert "redis://u:***@host/0 (***)" in reason
