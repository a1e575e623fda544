"""The suite's shared helpers (DESIGN §8): settings for a test database, local users,
logged-in API sessions, the IX networks every test app declares. Fixtures stay in
``tests/conftest.py``; tests import helpers from here, never from a conftest."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from ztix.config import Settings
from ztix.db.base import Base
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus
from ztix.workflow import audit, networks, users

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


def xdist_worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def truncate(database: Database) -> None:
    with database.session() as db:
        for table in reversed(Base.metadata.sorted_tables):
            db.execute(table.delete())


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


AppFactory = Callable[..., TestClient]
# A TestClient's peer address for a client on the API's own host (TestClient(app, client=…)).
LOOPBACK = ("127.0.0.1", 50000)


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

    def put(self, url: str, json: Any = None, **kw: Any) -> Any:
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return self.client.put(url, json=json, headers=headers, **kw)


def login(client: TestClient, username: str, password: str = PASSWORD) -> Session:
    response = client.post(
        "/api/v1/auth/local/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return Session(client, response.json()["csrf_token"])


def status_counts(database: Database) -> dict[str, int]:
    """Requests per status over every network, as the counters say."""
    with database.session() as db:
        rows = db.execute(
            text("SELECT status, sum(count) FROM request_status_counts GROUP BY status")
        )
        return {status: int(count) for status, count in rows}


ALL_STATUSES = [s.value for s in RequestStatus]
ROOT = Path(__file__).resolve().parent.parent.parent
