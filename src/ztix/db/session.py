"""Engines and sessions for PostgreSQL and SQLite.

Every session says what it means to do. :meth:`Database.session` and
:attr:`Database.sessionmaker` write: on SQLite their transactions take the write lock at
BEGIN (``BEGIN IMMEDIATE``), so writers queue on ``busy_timeout``. :meth:`Database.read_session`
and :attr:`Database.read_sessionmaker` only read: on SQLite a plain (deferred) BEGIN, which
under WAL never waits for a writer nor makes one wait; on PostgreSQL no transaction at all
(autocommit: each statement its own snapshot, as under READ COMMITTED anyway); a flush of any
change is refused. :meth:`Database.fetch` runs one read statement with the least work (the
hot look-ups of every request).
"""

from __future__ import annotations

import logging
import select
import time
from collections import namedtuple
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Engine, Executable, SelectBase, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
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


def _pg_autocommit(dbapi_connection: Any, _record: Any) -> None:
    # A PostgreSQL connection rests in autocommit: a statement of a read session or of
    # Database.fetch is its own snapshot, with no BEGIN and COMMIT around it. A writing
    # transaction turns it off (_pg_begin; psycopg then sends BEGIN before the first
    # statement, as in its default mode) and the pool turns it on again at check-in, after
    # its reset has ended any transaction left open.
    dbapi_connection.autocommit = True


def _pg_begin(conn: Any) -> None:
    if not conn.get_execution_options().get(READ_ONLY):
        conn.connection.dbapi_connection.autocommit = False


def _pg_checked_in(dbapi_connection: Any, _record: Any) -> None:
    if dbapi_connection is not None and not dbapi_connection.closed:
        dbapi_connection.autocommit = True


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
    event.listen(engine, "connect", _pg_autocommit)
    event.listen(engine, "begin", _pg_begin)
    event.listen(engine, "checkin", _pg_checked_in)
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
        # The same pool; its connections carry READ_ONLY. On PostgreSQL they stay in
        # autocommit (_pg_begin): under READ COMMITTED (PostgreSQL's default, and ZT-IX's)
        # every statement of a transaction already reads its own snapshot, so a transaction
        # around reads adds nothing but two round trips (``BEGIN``, ``COMMIT``): a member's
        # page paid four of them (issue 17). A read session never writes (``_refuse_writes``).
        # On SQLite a read transaction is a WAL snapshot across statements, worth keeping.
        self.read_engine = self.engine.execution_options(**{READ_ONLY: True})
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessionmaker = sessionmaker(
            self.read_engine, expire_on_commit=False, info={READ_ONLY: True}
        )
        event.listen(self.read_sessionmaker, "before_flush", _refuse_writes)
        self._raw: dict[Any, _RawStatement] = {}

    def fetch(self, statement: SelectBase, params: dict[str, Any]) -> list[Any]:
        """The rows of one read statement, with attribute access by column name and the
        columns' types applied, as ``Connection.execute(...).all()`` gives them; in no
        transaction, on a connection of the pool that goes back at once.

        For the statements every request runs (the session look-up, the member page's
        digest), SQLAlchemy's execution layer cost as much as PostgreSQL did (issue 17, P4).
        On PostgreSQL the statement is compiled once and sent by psycopg itself on a pooled
        connection (in autocommit: :func:`_pg_autocommit`); driver errors come out as
        SQLAlchemy's (``OperationalError`` answers 503), and a connection found dead is
        dropped from the pool. Its parameters must need no conversion (strings, numbers,
        lists: checked when it is compiled). Each statement is compiled once and kept, so
        it is built once too (a module constant), not per call. On SQLite it is a plain
        Core read."""
        if self.engine.dialect.name == "sqlite":
            with self.read_engine.connect() as conn:
                return list(conn.execute(cast(Executable, statement), params).all())
        raw = self._raw.get(statement)
        if raw is None:
            raw = self._raw[statement] = _RawStatement(statement, self.engine.dialect)
        return raw.run(self.engine, params)

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


class _RawStatement:
    """A read statement compiled for PostgreSQL once, with its result columns' converters
    and a row class naming them (:meth:`Database.fetch`)."""

    def __init__(self, statement: SelectBase, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        for bind in compiled.binds.values():
            if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
                raise TypeError(f"fetch: parameter {bind.key!r} needs conversion; use a session")
        self.sql = compiled.string
        columns = list(statement.selected_columns)
        self.row: Any = namedtuple("Row", [c.key for c in columns], rename=True)  # type: ignore[misc]
        self.converters = [
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
        ]
        self.dialect = dialect
        self.error: Any = dialect.loaded_dbapi.Error  # the driver's DB-API Error class

    def run(self, engine: Engine, params: dict[str, Any]) -> list[Any]:
        error = self.error
        try:
            connection = engine.raw_connection()
        except error as exc:  # the pool connects anew and the server refuses
            raise self._wrapped(exc, params, invalidated=False) from exc
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self.sql, params)
                rows = cursor.fetchall()
            except error as exc:
                if self.dialect.is_disconnect(exc, connection.dbapi_connection, cursor):
                    connection.invalidate(exc)
                raise self._wrapped(exc, params, invalidated=not connection.is_valid) from exc
            finally:
                cursor.close()
        finally:
            connection.close()
        converters = self.converters
        make = self.row._make
        if not any(converters):
            return [make(r) for r in rows]
        return [
            make(v if f is None else f(v) for f, v in zip(converters, r, strict=True)) for r in rows
        ]

    def _wrapped(self, exc: Exception, params: dict[str, Any], *, invalidated: bool) -> Exception:
        """The driver's error as SQLAlchemy raises it (``OperationalError`` and the rest)."""
        return DBAPIError.instance(
            self.sql,
            params,
            exc,
            self.error,
            hide_parameters=True,
            connection_invalidated=invalidated,
            dialect=self.dialect,
        )


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
