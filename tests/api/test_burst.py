"""The API under a burst, served by a real uvicorn (its event loop and threadpool): 100
concurrent signed-in GETs with writes among them never answer >= 500, on SQLite and on
PostgreSQL; a pool that runs dry answers 503 ``database_busy`` and recovers by itself."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from tests.support.app import (
    NWID,
    PASSWORD,
    AppFactory,
    RecordingDispatcher,
    Session,
    create_user,
    make_settings,
)
from tests.support.services import serving
from ztix.api.app import create_app
from ztix.db.base import utcnow
from ztix.db.models import UserSession
from ztix.db.session import Database
from ztix.workflow import audit, networks

# On PostgreSQL too: pool exhaustion, busy timeouts and write locks differ per database.
pytestmark = pytest.mark.both_databases

LIFTED = {"attempts": 1_000_000, "window_seconds": 60}
MEMBER_ASN = 213035

Serve = Callable[..., tuple[str, Any]]


@pytest.fixture
def serve(database: Database, dispatcher: RecordingDispatcher) -> Iterator[Serve]:
    """Start the app (its own database engine, sized by the settings) under uvicorn."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> tuple[str, Any]:
            settings = make_settings(database.url, **overrides)
            with database.session() as db:
                networks.sync_networks(db, audit.SYSTEM, settings.networks)
            app = create_app(settings, dispatcher=dispatcher)
            return stack.enter_context(serving(app)), app

        yield start


def _login(url: str, username: str) -> tuple[dict[str, str], str]:
    with httpx.Client(base_url=url) as client:
        response = client.post(
            "/api/v1/auth/local/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return dict(client.cookies), response.json()["csrf_token"]


def _node(i: int) -> str:
    return f"{0xABC0000000 + i:010x}"


def test_a_burst_of_signed_in_reads_with_writes_never_fails(
    serve: Serve, database: Database
) -> None:
    url, _app = serve(
        auth={
            "reads_per_session": LIFTED,
            "reads_per_address": LIFTED,
            "writes_per_user": LIFTED,
            "writes_per_address": LIFTED,
        }
    )
    members = [f"member{i}" for i in range(4)]
    for name in members:
        create_user(database, name, asns=(MEMBER_ASN,))
    create_user(database, "root", admin=True)
    logins = {name: _login(url, name) for name in [*members, "root"]}
    ids: list[str] = []
    cookies, csrf = logins["member0"]
    with httpx.Client(base_url=url, cookies=cookies, headers={"X-CSRF-Token": csrf}) as c:
        for i in range(5):
            body = {"asn": MEMBER_ASN, "zt_network_id": NWID, "node_id": _node(i)}
            response = c.post("/api/v1/requests", json=body)
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
    # Every session was last seen over a minute ago: the burst's first reads record it.
    with database.session() as db:
        db.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=5)))

    async def burst() -> list[tuple[str, int]]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

            async def call(method: str, path: str, who: str, body: Any = None) -> tuple[str, int]:
                cookies, csrf = logins[who]
                cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
                headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
                response = await client.request(method, path, json=body, headers=headers)
                route = re.sub(r"[0-9a-f-]{36}", "{id}", path.split("?")[0])
                return f"{method} {route}", response.status_code

            calls = []
            for i in range(100):
                who = members[i % len(members)]
                kind = i % 4
                if kind == 0:
                    calls.append(call("GET", "/api/v1/requests?limit=100", who))
                elif kind == 1:
                    calls.append(call("GET", f"/api/v1/requests/{ids[i % len(ids)]}", who))
                elif kind == 2:
                    calls.append(call("GET", "/api/v1/me", who))
                else:
                    calls.append(call("GET", "/api/v1/admin/requests?limit=100", "root"))
            for i in range(5):  # writes among the reads: new requests and a cancel
                body = {"asn": MEMBER_ASN, "zt_network_id": NWID, "node_id": _node(100 + i)}
                calls.insert(i * 20, call("POST", "/api/v1/requests", members[i % 4], body))
            calls.insert(50, call("POST", f"/api/v1/requests/{ids[0]}/cancel", "member0"))
            return await asyncio.gather(*calls)

    results = asyncio.run(burst())
    counts = Counter(f"{what} {status}" for what, status in results)
    assert all(status < 500 for _, status in results), counts
    assert all(status == 200 for what, status in results if what.startswith("GET")), counts
    assert sum(1 for what, s in results if what.startswith("POST") and s in (200, 201)) == 6


def test_an_exhausted_pool_answers_database_busy_then_recovers(
    serve: Serve, database: Database
) -> None:
    url, app = serve(database={"pool_timeout_seconds": 1, "max_overflow": 0})
    create_user(database, "alice", asns=(MEMBER_ASN,))
    cookies, _csrf = _login(url, "alice")
    engine = app.state.database.engine
    held = [engine.connect() for _ in range(engine.pool.size())]
    try:
        with httpx.Client(base_url=url, cookies=cookies, timeout=30) as client:
            response = client.get("/api/v1/me")
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "database_busy"
        assert int(response.headers["Retry-After"]) >= 1
    finally:
        for conn in held:
            conn.close()
    with httpx.Client(base_url=url, cookies=cookies, timeout=30) as client:
        assert client.get("/api/v1/me").status_code == 200
        assert client.get("/api/v1/requests").status_code == 200


def test_reads_are_limited_per_session_admins_exempt(
    make_client: AppFactory, login_as: Callable[..., Session]
) -> None:
    client = make_client(auth={"reads_per_session": {"attempts": 3, "window_seconds": 60}})
    alice = login_as("alice", asns=(64500,), client=client)
    answers = [alice.get("/api/v1/requests").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = alice.get("/api/v1/me")
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # A read limit is not a write limit: the session still changes things.
    nobody = "/api/v1/requests/00000000-0000-4000-8000-000000000000/cancel"
    assert alice.post(nobody).status_code == 404
    # Another session from the same address reads on.
    bob = login_as("bob", asns=(64501,), client=client)
    assert [bob.get("/api/v1/me").status_code for _ in range(3)] == [200] * 3
    # Admins work through queues in bursts: no read limit for their sessions.
    root = login_as("root", admin=True, client=client)
    assert {root.get("/api/v1/admin/requests").status_code for _ in range(6)} == {200}


def test_reads_without_a_session_are_limited_per_address(
    make_client: AppFactory, login_as: Callable[..., Session]
) -> None:
    client = make_client(auth={"reads_per_address": {"attempts": 3, "window_seconds": 60}})
    # A forged cookie does not make a read count elsewhere.
    client.cookies.set("ztix_session", "forged")
    answers = [client.get("/api/v1/me").status_code for _ in range(2)]
    answers += [client.get("/participants.json").status_code for _ in range(2)]
    assert answers == [401, 401, 200, 429]
    assert client.get("/api/v1/me").json()["code"] == "rate_limited"
    # A signed-in member's reads count against the session, not the crowded address.
    alice = login_as("alice", asns=(64500,), client=client)
    assert {alice.get("/api/v1/requests").status_code for _ in range(5)} == {200}


def test_reads_answer_while_a_writer_holds_the_write_lock(
    member: Session, database: Database
) -> None:
    """On SQLite a writer's transaction holds the database's one write lock (BEGIN
    IMMEDIATE); reads take none, so they answer at once instead of waiting it out."""
    with database.session() as writer:
        writer.execute(update(UserSession).values(client_address="203.0.113.9"))
        started = time.monotonic()
        answers = [member.get(path).status_code for path in ("/api/v1/me", "/api/v1/requests")]
        elapsed = time.monotonic() - started
    assert answers == [200, 200]
    assert elapsed < 2, elapsed  # busy_timeout is 10 s


def test_a_read_session_refuses_to_write(database: Database) -> None:
    with pytest.raises(RuntimeError, match="read-only"), database.read_session() as db:
        db.add(UserSession(token_hash="x", user_id=1, csrf_token="y", method="local"))
        db.flush()


def test_a_writing_session_is_one_transaction_and_a_read_is_none(database: Database) -> None:
    """On PostgreSQL a pooled connection rests in autocommit (``db/session.py``): a writing
    session must still be one transaction, all or nothing, and leave no transaction open
    behind it; a read session and ``Database.fetch`` run in none."""
    from ztix.db.models import User

    with pytest.raises(RuntimeError, match="after the first write"), database.session() as db:
        db.add(User(username="first"))
        db.flush()
        raise RuntimeError("after the first write")
    with database.read_session() as db:
        assert db.scalars(select(User.username)).all() == []
        connection = db.connection().connection.dbapi_connection
        if database.engine.dialect.name == "postgresql":
            assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    users = database.fetch(select(User.username), {})
    assert users == []


@pytest.mark.parametrize(
    ("error", "code", "retry_after"),
    [
        (sqlite3.OperationalError("database is locked"), "database_busy", "2"),
        (
            psycopg.errors.TooManyConnections("sorry, too many clients already"),
            "database_busy",
            "2",
        ),
        (psycopg.errors.LockNotAvailable("could not obtain lock"), "database_busy", "2"),
        (sqlite3.OperationalError("unable to open database file"), "database_unavailable", "5"),
        (psycopg.OperationalError("connection refused"), "database_unavailable", "5"),
    ],
)
def test_a_saturated_database_is_busy_not_down(
    member: Session, monkeypatch: pytest.MonkeyPatch, error: Exception, code: str, retry_after: str
) -> None:
    """SQLite's lock not granted within busy_timeout, PostgreSQL out of slots or refusing a
    lock wait: 503 database_busy (saturated, retry soon); anything else: unavailable."""
    from ztix.workflow import listing

    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise OperationalError("SELECT ...", {}, error)

    monkeypatch.setattr(listing, "member_page", fail)  # the member's list (issue 17)
    response = member.get("/api/v1/requests")
    assert response.status_code == 503
    assert response.json()["code"] == code
    assert response.headers["Retry-After"] == retry_after
    monkeypatch.undo()
    assert member.get("/api/v1/requests").status_code == 200  # nothing was left held


def test_every_operation_documents_rate_limited_with_retry_after(
    make_client: AppFactory,
) -> None:
    spec = make_client().get("/api/v1/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            limited = operation["responses"]["429"]
            assert "`rate_limited`" in limited["description"], (method, path)
            assert "Retry-After" in limited["headers"], (method, path)


def test_the_pool_has_a_connection_for_every_thread(tmp_path: Path) -> None:
    """One per HTTP thread, one per in-process job thread, two for the reconciler and the
    readiness check; Celery's workers have their own pools."""
    inprocess = make_settings("sqlite://", server={"threads": 10}, jobs={"worker_threads": 3})
    assert inprocess.database_pool_size == 10 + 3 + 2
    celery = make_settings("sqlite://", server={"threads": 10}, jobs={"runner": "celery"})
    assert celery.database_pool_size == 10 + 2
    small = make_settings(f"sqlite:///{tmp_path / 'z.sqlite3'}", server={"threads": 2})
    database = Database.for_api(small)
    try:
        assert database.engine.pool.size() == 2 + 4 + 2  # type: ignore[attr-defined]
    finally:
        database.dispose()
