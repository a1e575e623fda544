"""Engines and sessions for PostgreSQL and SQLite.

Every session says what it means to do. :meth:`Database.session` and
:attr:`Database.sessionmaker` write: on SQLite their transactions take the write lock at
BEGIN (``BEGIN IMMEDIATE``), so writers queue on ``busy_timeout``. :meth:`Database.read_session`
and :attr:`Database.read_sessionmaker` only read: on SQLite a plain (deferred) BEGIN, which
under WAL never waits for a writer nor makes one wait; on PostgreSQL no transaction at all
(autocommit: each statement its own snapshot, as under READ COMMITTED anyway); a flush of any
change is refused.
"""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

if TYPE_CHECKING:
    from ztix.config import Settings

log = logging.getLogger(__name__)

# The execution option that marks a read-only connection (Database.read_engine).
READ_ONLY = "ztix_read_only"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event start transactions (below) instead of the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _begin(conn: Any) -> None:
    # SQLite upgrades a read transaction to a write one only if nobody wrote in between,
    # and fails at once (no busy wait) when somebody did. Taking the write lock at BEGIN
    # makes concurrent writers (API and job threads) queue on busy_timeout instead. Readers
    # say so (READ_ONLY) and take no lock: under WAL they read a snapshot beside the writer.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read-only session cannot write; use Database.session()")


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        else:  # one connection per thread (SingletonThreadPool): no pool to size
            for key in ("pool_size", "max_overflow", "pool_timeout"):
                kwargs.pop(key, None)
        engine = create_engine(url, hide_parameters=True, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin)
        return engine
    # A host that drops packets must not hold a request for a TCP timeout: fail in 5 s.
    connect_args = {"connect_timeout": 5, **kwargs.pop("connect_args", {})}
    # hide_parameters: a failed statement's error (logged, and shown by /readyz) must not
    # carry the values it was binding: session token digests, CSRF tokens, PKCE verifiers.
    engine = create_engine(url, hide_parameters=True, connect_args=connect_args, **kwargs)
    LivenessCheck(engine).listen()
    return engine


class LivenessCheck:
    """A pooled PostgreSQL connection is checked before it is handed out, without a round
    trip when nothing suggests it died. SQLAlchemy's ``pool_pre_ping`` sends one on every
    checkout: two per API request, as much as the request's own statements (issue 17, P4).

    A server that restarts, stops or crashes closes its connections: their sockets turn
    readable (the server's last message, end of file, or an error), which ``poll`` sees
    without waiting. Such a connection, and one that sat in the pool longer than
    :attr:`IDLE_SECONDS` (a peer gone silently), is pinged as ``pool_pre_ping`` would; if
    the ping fails the pool drops it and connects anew, so a restart nobody saw costs no
    request (``tests/integration/test_readyz_services.py``,
    ``tests/integration/test_pool_liveness.py``). An idle connection has nothing to read:
    the answers of its last statements were read in full. A connection the server closes in
    the very moment it is handed out fails its first statement (503 ``database_unavailable``;
    SQLAlchemy then drops the pool's other connections), as one dying between a pre-ping and
    the statement did."""

    IDLE_SECONDS = 10.0
    _CHECKED_IN = "ztix_checked_in_at"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def listen(self) -> None:
        event.listen(self.engine, "checkin", self._checked_in)
        event.listen(self.engine, "checkout", self._checkout)

    def _checked_in(self, _dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[self._CHECKED_IN] = time.monotonic()

    def _checkout(
        self, dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        checked_in = record.info.pop(self._CHECKED_IN, None)
        if checked_in is None:  # fresh from connect()
            return
        if time.monotonic() - checked_in < self.IDLE_SECONDS and not _readable(dbapi_connection):
            return
        try:
            self.engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"pooled connection is dead: {exc}") from exc


def _readable(dbapi_connection: Any) -> bool:
    """Whether the connection's socket has something to read (or is closed) right now."""
    try:
        fd = dbapi_connection.pgconn.socket
    except Exception:  # closed: no socket any more
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


class Database:
    """An engine (one connection pool) and its write and read session factories; one per
    process."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        # The same pool; its connections carry READ_ONLY.
        self.read_engine = self.engine.execution_options(**{READ_ONLY: True})
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessionmaker = sessionmaker(
            self._reading_engine(), expire_on_commit=False, info={READ_ONLY: True}
        )
        event.listen(self.read_sessionmaker, "before_flush", _refuse_writes)

    def _reading_engine(self) -> Engine:
        """What read sessions run on. On PostgreSQL, autocommit: under READ COMMITTED
        (PostgreSQL's default, and ZT-IX's) every statement of a transaction already reads
        its own snapshot, so a transaction around reads adds nothing but two round trips
        (``BEGIN``, ``COMMIT``) per session: a member's page paid four of them (issue 17).
        A read session never writes (``_refuse_writes``). On SQLite a read transaction is a
        WAL snapshot across statements, worth keeping."""
        if is_sqlite(self.url):
            return self.read_engine
        return self.engine.execution_options(**{READ_ONLY: True}, isolation_level="AUTOCOMMIT")

    @classmethod
    def for_api(cls, settings: Settings) -> Database:
        """The API process's database: a pool that agrees with its threads (config)."""
        return cls(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database.max_overflow,
            pool_timeout=settings.database.pool_timeout_seconds,
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A writing session whose transaction commits on success and rolls back on error."""
        with self.sessionmaker() as session, session.begin():
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session that only reads; its connection goes back to the pool at the end."""
        with self.read_sessionmaker() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def rows_for_scrape(database: Database, what: str, statement: Executable) -> Sequence[Any] | None:
    """The rows of ``statement`` for a ``/metrics`` collector (read at scrape time), or None
    when the database cannot answer, logged as ``cannot read <what>``: a scrape must not fail
    because the database is down."""
    try:
        with database.read_session() as db:
            return db.execute(statement).all()
    except Exception as exc:
        log.warning("metrics: cannot read %s: %s", what, exc)
        return None
