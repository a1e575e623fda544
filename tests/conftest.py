"""Shared fixtures: real PostgreSQL and SQLite databases, an app, logged-in clients. The
helpers they use live in ``tests/support/app.py``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
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

# The tiers (docs/architecture.md, "Tests"): a test's directory gives its marker, so
# `pytest -m unit` (make test-fast) and `pytest -m "not e2e"` select by tier.
TIERS = ("unit", "api", "integration", "e2e")
TESTS = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    for tier, what in (
        ("unit", "pure: no database, no server, no outside process (tests/unit/)"),
        ("api", "the app, use cases and jobs over a database, in-process fakes (tests/api/)"),
        (
            "integration",
            "real outside processes: BIRD, sshd, Redis, zerotier-one… (tests/integration/)",
        ),
        ("e2e", "the browser against a served ZT-IX (tests/e2e/)"),
    ):
        config.addinivalue_line("markers", f"{tier}: {what}")
    config.addinivalue_line(
        "markers",
        "both_databases: run on PostgreSQL as well as SQLite (where the database matters: "
        "locking, constraints, concurrency, dialect differences)",
    )


# The fixtures that reach a database: a test using one (directly or through another
# fixture, e.g. `client`) is not a unit test.
DATABASE_FIXTURES = ("migrated_url", "pg_url")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    misplaced = []
    for item in items:
        parts = Path(item.path).resolve().relative_to(TESTS).parts
        if len(parts) > 1 and parts[0] in TIERS:
            item.add_marker(parts[0])
        if parts[0] == "unit" and _uses_a_database(item):
            misplaced.append(item.nodeid)
    if misplaced:
        raise pytest.UsageError(
            "tests/unit holds no test on a database; move these to tests/api or "
            "tests/integration:\n  " + "\n  ".join(misplaced)
        )


def _uses_a_database(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        defs and defs[-1].func.__module__ == __name__
        for defs in (info.name2fixturedefs.get(name) for name in DATABASE_FIXTURES)
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test on the database runs on SQLite; marked ``both_databases``, on PostgreSQL too.
    A test that parametrizes ``migrated_url`` itself (e.g. PostgreSQL only) keeps its own."""
    if "migrated_url" not in metafunc.fixturenames:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        if "migrated_url" in (
            names.replace(" ", "").split(",") if isinstance(names, str) else names
        ):
            return
    both = metafunc.definition.get_closest_marker("both_databases") is not None
    backends = ["sqlite", "postgresql"] if both else ["sqlite"]
    metafunc.parametrize("migrated_url", backends, indirect=True, scope="session")


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


@pytest.fixture(scope="session")
def migrated_url(request: pytest.FixtureRequest) -> str:
    """The migrated database a test runs on: SQLite (the embedded default), and PostgreSQL
    too for a test marked ``both_databases`` (see ``pytest_generate_tests``)."""
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
