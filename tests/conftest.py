"""Shared fixtures: real PostgreSQL and SQLite databases, an app, logged-in clients."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from ztix.api.app import create_app
from ztix.config import Settings
from ztix.db import migrate
from ztix.db.base import Base
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus
from ztix.workflow import audit, networks, users

# The controller emulator and job-context fixtures, for every test package.
pytest_plugins = ["tests.support.zt_fixtures"]

PG_ADMIN_DSN = os.environ.get("ZTIX_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
NWID = "8056c2e21c000001"
NWID_B = "8056c2e21c000002"
PASSWORD = "correct horse battery staple"

NETWORKS = [
    {
        "zt_network_id": NWID,
        "name": "ZT-IX Frankfurt",
        "ipv4_prefix": "192.0.2.0/24",
        "ipv6_prefix": "2001:db8:ab::/64",
    },
    {
        "zt_network_id": NWID_B,
        "name": "ZT-IX Lab",
        "ipv4_prefix": "198.51.100.0/24",
        "ipv6_prefix": "2001:db8:cd::/64",
    },
]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test process, dropped at the end."""
    name = f"ztix_test_{_worker()}_{uuid.uuid4().hex[:8]}"
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


def _truncate(database: Database) -> None:
    with database.session() as db:
        for table in reversed(Base.metadata.sorted_tables):
            db.execute(table.delete())


@pytest.fixture
def database(migrated_url: str) -> Iterator[Database]:
    database = Database(migrated_url)
    _truncate(database)
    yield database
    database.dispose()


def make_settings(database_url: str, **overrides: Any) -> Settings:
    data: dict[str, Any] = {
        "database_url": database_url,
        "networks": NETWORKS,
        "workflow": {"approval_mode": "manual_admin"},
        "peeringdb": {"enabled": False},
    }
    data.update(overrides)
    return Settings(**data)


@dataclass
class RecordingDispatcher:
    seen: list[uuid.UUID]
    route_server_syncs: int = 0

    def request_changed(self, request_id: uuid.UUID) -> None:
        self.seen.append(request_id)

    def route_servers_changed(self) -> None:
        self.route_server_syncs += 1


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher(seen=[])


AppFactory = Callable[..., TestClient]
# A TestClient's peer address for a client on the API's own host (TestClient(app, client=…)).
LOOPBACK = ("127.0.0.1", 50000)


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


def create_user(
    database: Database,
    username: str,
    *,
    admin: bool = False,
    asns: tuple[int, ...] = (),
    network_ids: tuple[str, ...] = (),
    password: str = PASSWORD,
) -> None:
    with database.session() as db:
        nets = [networks.get_network(db, n) for n in network_ids]
        assert None not in nets, "sync the networks (make_client) before granting them"
        users.create_local_user(
            db,
            audit.CLI,
            username=username,
            password=password,
            admin=admin,
            asns=asns,
            networks=[n for n in nets if n is not None],
        )


class Session:
    """A logged-in API client that sends its CSRF token on writes."""

    def __init__(self, client: TestClient, csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> Any:
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return self.client.post(url, json=json, headers=headers, **kw)


def login(client: TestClient, username: str, password: str = PASSWORD) -> Session:
    response = client.post(
        "/api/v1/auth/local/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return Session(client, response.json()["csrf_token"])


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


def status_counts(database: Database) -> dict[str, int]:
    """Requests per status over every network, as the counters say."""
    with database.session() as db:
        rows = db.execute(
            text("SELECT status, sum(count) FROM request_status_counts GROUP BY status")
        )
        return {status: int(count) for status, count in rows}


ALL_STATUSES = [s.value for s in RequestStatus]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _cheap_argon2() -> Iterator[None]:
    """Real argon2id, with the cost turned down so hundreds of logins stay fast."""
    from argon2 import PasswordHasher

    from ztix.auth import passwords

    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = original
