"""The pool's liveness check (``db/session.LivenessCheck``, issue 17): a healthy pooled
PostgreSQL connection is handed out without a round trip; one the server closed, or one
idle too long, is pinged first, and a dead one is replaced without failing the caller."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text

from tests.support.app import PG_ADMIN_DSN
from ztix.db.session import Database, LivenessCheck


@pytest.fixture
def database(pg_url: str) -> Iterator[tuple[Database, list[int]]]:
    database = Database(pg_url, pool_size=1, max_overflow=0)
    pings: list[int] = []
    ping = database.engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(1)
        return bool(ping(dbapi_connection))

    database.engine.dialect.do_ping = counted  # type: ignore[method-assign]
    yield database, pings
    database.dispose()


def _backend_pid(database: Database) -> int:
    with database.read_session() as db:
        return int(db.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_healthy_connection_is_handed_out_without_a_ping(
    database: tuple[Database, list[int]],
) -> None:
    db, pings = database
    first = _backend_pid(db)
    for _ in range(50):
        assert _backend_pid(db) == first  # the same pooled connection every time
    assert pings == []


def test_a_connection_the_server_closed_is_replaced_without_an_error(
    database: tuple[Database, list[int]],
) -> None:
    db, pings = database
    dead = _backend_pid(db)
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (dead,))  # waits for its exit
    # The socket of the pooled connection is now readable (the server said goodbye): the
    # checkout pings it, the ping fails, and the pool connects anew for this caller.
    fresh = _backend_pid(db)
    assert fresh != dead
    assert len(pings) == 1


def test_a_connection_idle_past_the_threshold_is_pinged(
    database: tuple[Database, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, pings = database
    first = _backend_pid(db)
    monkeypatch.setattr(LivenessCheck, "IDLE_SECONDS", 0.0)
    assert _backend_pid(db) == first  # alive: pinged, then handed out
    assert len(pings) == 1
