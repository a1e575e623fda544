"""Shared fixtures: real PostgreSQL and SQLite databases, an app, logged-in clients. The
helpers they use live in ``tests/support/app.py``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.support.app import (
    PG_ADMIN_DSN,
    AppFactory,
    RecordingDispatcher,
    Session,
    create_user,
    login,
    make_settings,
    truncate,
    xdist_worker,
)
from ztix.api.app import create_app
from ztix.db import migrate
from ztix.db.session import Database
from ztix.workflow import audit, networks

# The controller emulator and job-context fixtures, and the session IRRd, for every test package.
pytest_plugins = ["tests.support.zt_fixtures", "tests.support.irr_fixtures"]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test process, dropped at the end."""
    name = f"ztix_test_{xdist_worker()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'ztix.sqlite3'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def migrated_url(request: pytest.FixtureRequest) -> str:
    """Each test that uses the database runs once on SQLite and once on PostgreSQL."""
    url: str = request.getfixturevalue(f"{'pg' if request.param == 'postgresql' else 'sqlite'}_url")
    migrate.upgrade(url)
    return url


@pytest.fixture
def database(migrated_url: str) -> Iterator[Database]:
    database = Database(migrated_url)
    truncate(database)
    yield database
    database.dispose()


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher(seen=[])


@pytest.fixture
def make_client(database: Database, dispatcher: RecordingDispatcher) -> Iterator[AppFactory]:
    """Build a TestClient for an app with the given settings overrides."""
    clients: list[TestClient] = []

    def factory(**overrides: Any) -> TestClient:
        settings = make_settings(database.url, **overrides)
        with database.session() as db:
            networks.sync_networks(db, audit.SYSTEM, settings.networks)
        app = create_app(settings, database=database, dispatcher=dispatcher)
        client = TestClient(app)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client()


@pytest.fixture
def login_as(make_client: AppFactory, database: Database) -> Callable[..., Session]:
    """Log a new user in on a fresh client: ``login_as("alice", asns=(64500,))``."""

    def factory(username: str, *, client: TestClient | None = None, **kw: Any) -> Session:
        client = client or make_client()  # syncs the networks first
        create_user(database, username, **kw)
        return login(client, username)

    return factory


@pytest.fixture
def admin(login_as: Callable[..., Session]) -> Session:
    return login_as("root", admin=True)


@pytest.fixture
def member(login_as: Callable[..., Session]) -> Session:
    return login_as("alice", asns=(213035, 13335))


@pytest.fixture(autouse=True, scope="session")
def _cheap_argon2() -> Iterator[None]:
    """Real argon2id, with the cost turned down so hundreds of logins stay fast."""
    from argon2 import PasswordHasher

    from ztix.auth import passwords

    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = original
