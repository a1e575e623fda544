"""Login throttling under parallel attempts (issue 12 §3): every attempt is counted before
its password is checked, on memory and on Redis storage, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from limits.storage import storage_from_string

from tests.support.app import PASSWORD, AppFactory, create_user
from tests.support.services import RedisServer
from ztix.api.routes import auth as auth_routes
from ztix.auth.passwords import verify_password
from ztix.db.session import Database

LOGIN = "/api/v1/auth/local/login"
PER_USERNAME = 5


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with RedisServer() as server:
        yield server.url


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    url: str = request.getfixturevalue("redis_url")
    storage_from_string(url).reset()
    return url


class CountingVerifier:
    """Wraps the real password check: counts the checks that ran, and makes each slow
    enough that every parallel attempt is in flight at once."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, password_hash: str | None, password: str) -> bool:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay)
        return verify_password(password_hash, password)


@pytest.fixture
def verifier(monkeypatch: pytest.MonkeyPatch) -> CountingVerifier:
    counting = CountingVerifier()
    monkeypatch.setattr(auth_routes, "verify_password", counting)
    return counting


def _parallel(client: Any, bodies: list[dict[str, str]]) -> list[int]:
    barrier = threading.Barrier(len(bodies))

    def attempt(body: dict[str, str]) -> int:
        barrier.wait()
        return int(client.post(LOGIN, json=body).status_code)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(attempt, bodies))


@pytest.mark.both_databases
def test_parallel_wrong_passwords_cannot_outrun_the_limit(
    make_client: AppFactory, database: Database, storage: str, verifier: CountingVerifier
) -> None:
    client = make_client(
        auth={
            "rate_limit_storage": storage,
            "login_failures_per_username": {"attempts": PER_USERNAME, "window_seconds": 600},
        }
    )
    create_user(database, "alice")
    codes = _parallel(client, [{"username": "alice", "password": f"guess-{i}"} for i in range(60)])
    assert all(code in (401, 429) for code in codes), codes
    assert codes.count(401) <= PER_USERNAME
    assert verifier.calls <= PER_USERNAME
    # The right password, after the flood, is refused too: the attempts were counted.
    response = client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"
    assert verifier.calls <= PER_USERNAME


@pytest.mark.both_databases
def test_parallel_attempts_from_one_address_share_its_limit(
    make_client: AppFactory, database: Database, storage: str, verifier: CountingVerifier
) -> None:
    client = make_client(
        auth={
            "rate_limit_storage": storage,
            "login_failures_per_address": {"attempts": 7, "window_seconds": 600},
        }
    )
    codes = _parallel(client, [{"username": f"u{i}", "password": "guess"} for i in range(60)])
    assert codes.count(401) <= 7
    assert verifier.calls <= 7


def test_a_disabled_account_counts_as_a_failure(
    make_client: AppFactory, database: Database, verifier: CountingVerifier
) -> None:
    from ztix.workflow import audit, users

    client = make_client(
        auth={"login_failures_per_username": {"attempts": 3, "window_seconds": 60}}
    )
    create_user(database, "alice")
    with database.session() as db:
        users.disable_user(db, audit.CLI, "alice")
    right = {"username": "alice", "password": PASSWORD}
    codes = [client.post(LOGIN, json=right).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert verifier.calls == 3  # the hash is checked as for any other account
    # Only the audit log, which admins read, says why.
    from sqlalchemy import select

    from ztix.db.models import AuditEvent

    with database.session() as db:
        failed = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "login.failed").order_by(AuditEvent.id)
        )
        details = [e.details for e in failed]
    assert [d["code"] for d in details] == ["invalid_credentials"] * 3 + ["too_many_attempts"]
    assert [d.get("disabled") for d in details[:3]] == [True] * 3


def test_logins_that_succeed_do_not_lock_out_a_shared_address(
    make_client: AppFactory, database: Database, storage: str
) -> None:
    client = make_client(
        auth={
            "rate_limit_storage": storage,
            "login_failures_per_address": {"attempts": 3, "window_seconds": 600},
        }
    )
    for i in range(6):
        create_user(database, f"user{i}")
    # Behind one NAT: many colleagues log in, one mistypes twice.
    assert client.post(LOGIN, json={"username": "user0", "password": "typo"}).status_code == 401
    assert client.post(LOGIN, json={"username": "user0", "password": "typo"}).status_code == 401
    for i in range(6):
        body = {"username": f"user{i}", "password": PASSWORD}
        assert client.post(LOGIN, json=body).status_code == 200
    # The address's limit still holds for failures.
    assert client.post(LOGIN, json={"username": "user1", "password": "typo"}).status_code == 401
    assert client.post(LOGIN, json={"username": "user2", "password": "typo"}).status_code == 429


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_backs_off_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    from ztix.auth.ratelimit import RateLimits
    from ztix.config import AuthConfig
    from ztix.errors import AppError

    clock = Clock()
    monkeypatch.setattr(time, "time", clock)
    limits = RateLimits(
        AuthConfig(
            login_failures_per_address={"attempts": 2, "window_seconds": 100},
            login_lockout_max_seconds=350,
        )
    )

    def lockout() -> int:
        """Use up the address's window; the seconds the next attempt must wait."""
        for i in range(2):
            limits.reserve_login(f"u{i}", "192.0.2.1")
        with pytest.raises(AppError) as exc:
            limits.reserve_login("u9", "192.0.2.1")
        assert exc.value.code == "too_many_attempts"
        retry_after: int = exc.value.extra["retry_after"]
        clock.now += retry_after
        return retry_after

    assert [lockout() for _ in range(5)] == [100, 200, 350, 350, 350]
    # Quiet for twice the cap: the doubling is forgotten.
    clock.now += 2 * 350 + 1
    assert [lockout() for _ in range(2)] == [100, 200]
    # Another address is not affected, and an admin unlock ends the back-off.
    limits.reserve_login("u0", "192.0.2.2")
    limits.unlock(address="192.0.2.1")
    assert lockout() == 100


def test_users_unlock(
    make_client: AppFactory,
    database: Database,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from ztix.cli.main import app

    storage_from_string(redis_url).reset()
    auth = {
        "rate_limit_storage": redis_url,
        "login_failures_per_username": {"attempts": 2, "window_seconds": 600},
        "login_failures_per_address": {"attempts": 3, "window_seconds": 600},
    }
    with TestClient(make_client(auth=auth).app, client=("2001:db8::7", 50000)) as client:
        create_user(database, "alice")
        create_user(database, "bob")
        alice = {"username": "alice", "password": PASSWORD}
        bob = {"username": "bob", "password": PASSWORD}
        for _ in range(2):
            assert (
                client.post(LOGIN, json={"username": "alice", "password": "x"}).status_code == 401
            )
        assert client.post(LOGIN, json=alice).status_code == 429  # alice's limit

        monkeypatch.delenv("ZTIX_CONFIG", raising=False)
        monkeypatch.setenv("DATABASE_URL", database.url)
        monkeypatch.setenv("ZTIX_AUTH__RATE_LIMIT_STORAGE", redis_url)
        runner = CliRunner()
        result = runner.invoke(app, ["users", "unlock", "alice"])
        assert result.exit_code == 0, result.output
        assert "unlocked alice" in result.output
        assert client.post(LOGIN, json=alice).status_code == 200

        assert client.post(LOGIN, json={"username": "bob", "password": "x"}).status_code == 401
        assert client.post(LOGIN, json=bob).status_code == 429  # the address's limit
        result = runner.invoke(app, ["users", "unlock", "--address", "nowhere"])
        assert result.exit_code == 1
        assert "not an IP address" in result.output
        # The address's canonical form is the one the API counts under.
        result = runner.invoke(app, ["users", "unlock", "--address", "2001:DB8:0::7"])
        assert result.exit_code == 0, result.output
        assert client.post(LOGIN, json=bob).status_code == 200
    with database.session() as db:
        from sqlalchemy import select

        from ztix.db.models import AuditEvent

        unlocked = db.scalars(select(AuditEvent).where(AuditEvent.action == "login.unlocked"))
        assert [e.details for e in unlocked] == [
            {"username": "alice", "address": None},
            {"username": None, "address": "2001:db8::7"},
        ]


def test_users_unlock_explains_memory_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ztix.cli.main import app

    monkeypatch.delenv("ZTIX_CONFIG", raising=False)
    monkeypatch.setenv("ZTIX_AUTH__RATE_LIMIT_STORAGE", "memory://")
    result = CliRunner().invoke(app, ["users", "unlock", "alice"])
    assert result.exit_code == 1
    assert "restart the API" in result.output
