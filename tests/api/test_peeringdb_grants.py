"""Sessions and grants follow reality (issue 12 §4), on SQLite and PostgreSQL.

PeeringDB is tests.support's provider; its accounts change between calls
(``update_account``), it can be down, and it issues refresh tokens. The re-check job runs
as the job system runs it (``jobs.tasks.recheck_peeringdb``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, update

from tests.support.app import (
    NWID,
    AppFactory,
    RecordingDispatcher,
    Session,
    login,
    make_settings,
    status_counts,
)
from tests.support.oidc_provider import FakePeeringDB, FakeUser, network
from tests.support.peeringdb_login import authorize
from ztix.auth.tokens import TokenCipher, generate_key
from ztix.config import PeeringDBConfig, Settings
from ztix.db.base import utcnow
from ztix.db.models import AuditEvent, JoinRequest, PeeringDBToken, User, UserSession
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus
from ztix.jobs.context import build_context
from ztix.jobs.tasks import JobContext, recheck_peeringdb
from ztix.observability import Metrics
from ztix.workflow import audit, requests, users

CALLBACK = "/api/v1/auth/peeringdb/callback"
KEY = generate_key()
ADA = 4242
A, B = 213035, 13335


@pytest.fixture(scope="module")
def provider() -> Iterator[FakePeeringDB]:
    with FakePeeringDB() as fake:
        yield fake


@pytest.fixture
def fake(provider: FakePeeringDB) -> FakePeeringDB:
    provider.reset()
    provider.user = FakeUser(id=ADA, networks=[network(A, 15), network(B, 3)])
    return provider


@pytest.fixture
def pdb_config(fake: FakePeeringDB) -> PeeringDBConfig:
    return fake.config(admin_user_ids=(9999,), token_keys=KEY)


@pytest.fixture
def settings(database: Database, pdb_config: PeeringDBConfig) -> Settings:
    return make_settings(database.url, peeringdb=pdb_config)


@pytest.fixture
def new_client(make_client: AppFactory, pdb_config: PeeringDBConfig) -> Callable[[], TestClient]:
    return lambda: make_client(peeringdb=pdb_config)


@pytest.fixture
def ctx(
    settings: Settings, database: Database, dispatcher: RecordingDispatcher
) -> Iterator[JobContext]:
    context = build_context(settings, dispatcher, database)
    yield context
    assert context.oidc is not None
    context.oidc.close()


def pdb_login(client: TestClient) -> Session:
    response = client.post(CALLBACK, json=authorize(client))
    assert response.status_code == 200, response.text
    return Session(client, response.json()["csrf_token"])


def asns(session: Session) -> set[int]:
    return {a["asn"] for a in session.get("/api/v1/me").json()["asns"]}


def file_request(session: Session, asn: int, node: str) -> uuid.UUID:
    body = {"asn": asn, "zt_network_id": NWID, "node_id": node}
    response = session.post("/api/v1/requests", json=body)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


def make_active(database: Database, request_id: uuid.UUID) -> None:
    """Walk a request to active through the state machine (counters included)."""
    with database.session() as db:
        request = db.get(JoinRequest, request_id)
        assert request is not None
        for status in ("approved", "provisioning", "active"):
            requests.transition(db, request, RequestStatus(status), audit.SYSTEM, "test")


def make_due(database: Database) -> None:
    """Move every stored token's last re-check attempt a period back."""
    with database.session() as db:
        db.execute(update(PeeringDBToken).values(last_attempt_at=utcnow() - timedelta(hours=7)))


def events(database: Database, action: str) -> list[AuditEvent]:
    with database.session() as db:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(db.scalars(query))


def request_row(database: Database, request_id: uuid.UUID) -> JoinRequest:
    with database.session() as db:
        row = db.get(JoinRequest, request_id)
        assert row is not None
        return row


def stored_token(database: Database) -> PeeringDBToken:
    with database.session() as db:
        row = db.scalar(select(PeeringDBToken))
        assert row is not None
        return row


# --- sessions -----------------------------------------------------------------------------


def test_every_login_gets_a_new_session_and_revokes_the_presented_one(
    make_client: AppFactory, database: Database
) -> None:
    from tests.support.app import create_user

    client = make_client()
    create_user(database, "alice", asns=(A,))
    login(client, "alice")
    first = client.cookies["ztix_session"]
    # An attacker planted `first` (or it is left from before): logging in again replaces it.
    login(client, "alice")
    second = client.cookies["ztix_session"]
    assert second != first
    planted = make_client()
    planted.cookies.set("ztix_session", first)
    response = planted.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert client.get("/api/v1/me").status_code == 200


def test_peeringdb_login_revokes_the_presented_session(
    new_client: Callable[[], TestClient], fake: FakePeeringDB
) -> None:
    client = new_client()
    pdb_login(client)
    first = client.cookies["ztix_session"]
    pdb_login(client)
    assert client.cookies["ztix_session"] != first
    other = new_client()
    other.cookies.set("ztix_session", first)
    assert other.get("/api/v1/me").status_code == 401


def test_password_change_and_disable_end_every_session(
    make_client: AppFactory, database: Database
) -> None:
    from tests.support.app import create_user

    create_user(database, "alice", asns=(A,))
    one, two = login(make_client(), "alice"), login(make_client(), "alice")
    with database.session() as db:
        users.set_password(db, audit.CLI, "alice", "another long password")
    for session in (one, two):
        assert session.get("/api/v1/me").status_code == 401
    fresh = login(make_client(), "alice", "another long password")
    with database.session() as db:
        users.disable_user(db, audit.CLI, "alice")
    assert fresh.get("/api/v1/me").status_code == 401


def test_role_change_at_login_ends_every_session(
    make_client: AppFactory, fake: FakePeeringDB, pdb_config: PeeringDBConfig
) -> None:
    operator_client = make_client(peeringdb=pdb_config)
    old = pdb_login(operator_client)
    assert old.get("/api/v1/me").json()["role"] == "operator"
    promoted = pdb_config.model_copy(update={"admin_user_ids": (ADA,)})
    admin = pdb_login(make_client(peeringdb=promoted))
    assert admin.get("/api/v1/me").json()["role"] == "admin"
    assert old.get("/api/v1/me").status_code == 401
    # Taken out of admin_user_ids: back to operator, the admin session ends.
    pdb_login(make_client(peeringdb=pdb_config))
    assert admin.get("/api/v1/me").status_code == 401


def test_users_sessions_lists_and_revokes(make_client: AppFactory, database: Database) -> None:
    from tests.support.app import create_user

    create_user(database, "alice", asns=(A,))
    one, two = login(make_client(), "alice"), login(make_client(), "alice")
    with database.session() as db:
        listed = users.user_sessions(db, "alice")
        assert len(listed) == 2
        digest = listed[0].token_hash
    with database.session() as db:
        ended = users.revoke_sessions(db, audit.CLI, "alice", digest[:10])
        assert [s.token_hash for s in ended] == [digest]
    alive = [s for s in (one, two) if s.get("/api/v1/me").status_code == 200]
    assert len(alive) == 1
    with database.session() as db:
        assert len(users.revoke_sessions(db, audit.CLI, "alice")) == 1
    assert alive[0].get("/api/v1/me").status_code == 401
    [by_id, everything] = events(database, "user.sessions_revoked")
    assert by_id.details["sessions"] == [digest[:12]] and by_id.actor == "cli"
    assert len(everything.details["sessions"]) == 1


# --- grants at login ----------------------------------------------------------------------


@pytest.mark.both_databases
def test_relogin_revokes_a_lost_asn_with_its_sessions_and_pending_requests(
    new_client: Callable[[], TestClient], fake: FakePeeringDB, database: Database
) -> None:
    other_device = pdb_login(new_client())
    session = pdb_login(new_client())
    assert asns(session) == {A, B}
    pending_b = file_request(session, B, "abcdef0001")
    pending_a = file_request(session, A, "abcdef0002")
    active_b = file_request(session, B, "abcdef0003")
    make_active(database, active_b)
    before = status_counts(database)

    fake.user = FakeUser(id=ADA, networks=[network(A, 15)])
    relogged = pdb_login(new_client())
    assert asns(relogged) == {A}
    assert other_device.get("/api/v1/me").status_code == 401
    assert session.get("/api/v1/me").status_code == 401

    cancelled = request_row(database, pending_b)
    assert cancelled.status == "cancelled"
    assert cancelled.decision_reason == "grant_revoked"
    assert request_row(database, pending_a).status == "pending"
    flagged = request_row(database, active_b)
    assert flagged.status == "active" and flagged.grant_lost_at is not None
    after = status_counts(database)
    assert after["pending"] == before["pending"] - 1
    assert after["cancelled"] == before.get("cancelled", 0) + 1
    [revoked] = events(database, "user.grants_revoked")
    assert revoked.details["asns"] == [B] and revoked.details["via"] == "login"
    assert revoked.details["sessions_revoked"] == 2
    [cancel] = [e for e in events(database, "request.cancelled") if e.request_id == pending_b]
    assert cancel.details["reason"] == "grant_revoked"
    assert [e.request_id for e in events(database, "request.grant_lost")] == [active_b]


def test_no_eligible_networks_revokes_every_grant_and_session(
    new_client: Callable[[], TestClient], fake: FakePeeringDB, database: Database
) -> None:
    session = pdb_login(new_client())
    pending = file_request(session, A, "abcdef0001")
    fake.user = FakeUser(id=ADA, networks=[network(A, 1)])  # read-only now
    client = new_client()
    refused = client.post(CALLBACK, json=authorize(client))
    assert refused.status_code == 403
    assert refused.json()["code"] == "no_eligible_networks"
    assert session.get("/api/v1/me").status_code == 401
    with database.session() as db:
        user = db.scalar(select(User).where(User.peeringdb_id == ADA))
        assert user is not None and user.asns == []
    assert request_row(database, pending).decision_reason == "grant_revoked"
    [revoked] = events(database, "user.grants_revoked")
    assert revoked.details["asns"] == sorted([A, B])
    # An unverified account is refused the same way, after the same revocation.
    fake.user = FakeUser(id=ADA, verified_user=False)
    assert pdb_login_code(new_client()) == "user_not_verified"


def pdb_login_code(client: TestClient) -> str:
    code: str = client.post(CALLBACK, json=authorize(client)).json()["code"]
    return code


def test_local_grant_keeps_an_asn_held(
    new_client: Callable[[], TestClient], fake: FakePeeringDB, database: Database
) -> None:
    from ztix.db.models import UserAsn

    session = pdb_login(new_client())
    pending = file_request(session, B, "abcdef0001")
    with database.session() as db:
        user = db.scalar(select(User).where(User.peeringdb_id == ADA))
        assert user is not None
        user.asns.append(UserAsn(asn=B, source="local"))
    fake.user = FakeUser(id=ADA, networks=[network(A, 15)])
    assert asns(pdb_login(new_client())) == {A, B}
    assert session.get("/api/v1/me").status_code == 200  # nothing was lost
    assert request_row(database, pending).status == "pending"
    [revoked] = events(database, "user.grants_revoked")  # the PeeringDB grant, audited
    assert revoked.details["asns"] == [B] and revoked.details["still_granted_locally"] == [B]
    assert revoked.details["sessions_revoked"] == 0


# --- tokens -------------------------------------------------------------------------------


def test_tokens_are_stored_encrypted(
    new_client: Callable[[], TestClient],
    fake: FakePeeringDB,
    database: Database,
    make_client: AppFactory,
    pdb_config: PeeringDBConfig,
) -> None:
    pdb_login(new_client())
    row = stored_token(database)
    for token in fake.issued_tokens:
        assert token not in row.access_token and token not in (row.refresh_token or "")
    cipher = TokenCipher([KEY])
    assert cipher.decrypt(row.access_token) in fake.issued_tokens
    assert row.refresh_token and cipher.decrypt(row.refresh_token) in fake.issued_tokens
    # Rotation: a new key first, the old one after, still opens what is stored.
    rotated = TokenCipher([generate_key(), KEY])
    assert rotated.decrypt(row.access_token) == cipher.decrypt(row.access_token)
    # No key configured: nothing is kept.
    pdb_login(make_client(peeringdb=pdb_config.model_copy(update={"token_keys": SecretStr("")})))
    with database.session() as db:
        assert db.scalar(select(PeeringDBToken)) is None


def test_token_keys_are_validated(fake: FakePeeringDB) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="Fernet key"):
        fake.config(token_keys="not-a-key")
    assert fake.config(token_keys=f"{generate_key()}, {KEY}")


# --- the periodic re-check ----------------------------------------------------------------


@pytest.mark.both_databases
def test_recheck_revokes_a_lost_asn(
    new_client: Callable[[], TestClient],
    fake: FakePeeringDB,
    database: Database,
    ctx: JobContext,
    make_client: AppFactory,
) -> None:
    session = pdb_login(new_client())
    pending_b = file_request(session, B, "abcdef0001")
    active_b = file_request(session, B, "abcdef0002")
    make_active(database, active_b)
    assert recheck_peeringdb(ctx)["checked"] == 0  # not due yet: checked at login

    fake.update_account(ADA, networks=[network(A, 15)])
    make_due(database)
    result = recheck_peeringdb(ctx)
    assert result["checked"] == 1 and result["lost"] == 1
    assert session.get("/api/v1/me").status_code == 401
    assert request_row(database, pending_b).decision_reason == "grant_revoked"
    assert request_row(database, pending_b).status == "cancelled"
    assert request_row(database, active_b).status == "active"
    [revoked] = events(database, "user.grants_revoked")
    assert revoked.actor == "peeringdb-recheck" and revoked.details["via"] == "recheck"

    # The admin queue shows the member whose grant was lost, and filters on it.
    from tests.support.app import create_user

    admin_client = make_client()
    create_user(database, "root", admin=True)
    admin = login(admin_client, "root")
    flagged = admin.get("/api/v1/admin/requests", params={"grant_lost": "true"}).json()
    assert [item["id"] for item in flagged["items"]] == [str(active_b)]
    assert flagged["total"] == 1 and flagged["items"][0]["grant_lost_at"]
    others = admin.get("/api/v1/admin/requests", params={"grant_lost": "false"}).json()
    assert str(active_b) not in {item["id"] for item in others["items"]}

    # PeeringDB grants the ASN again: the flag goes.
    fake.update_account(ADA, networks=[network(A, 15), network(B, 15)])
    make_due(database)
    recheck_peeringdb(ctx)
    assert request_row(database, active_b).grant_lost_at is None
    assert len(events(database, "request.grant_restored")) == 1


def test_recheck_refreshes_an_expired_access_token(
    new_client: Callable[[], TestClient],
    fake: FakePeeringDB,
    database: Database,
    ctx: JobContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.access_token_lifetime = 30  # within the clock leeway: expired for the client
    pdb_login(new_client())
    first = stored_token(database)
    fake.update_account(ADA, networks=[network(A, 15)])
    make_due(database)
    caplog.set_level("DEBUG")
    assert recheck_peeringdb(ctx)["checked"] == 1
    assert "lost AS13335" in caplog.text
    for token in fake.issued_tokens:  # never in a log line or the audit trail
        assert token not in caplog.text
        assert all(token not in str(e.details) for e in events(database, "user.grants_revoked"))
    grants = [r.form for r in fake.token_requests if r.form["grant_type"] == "refresh_token"]
    assert len(grants) == 1
    assert grants[0]["client_secret"] == fake.client_secret  # client_secret_post
    cipher = TokenCipher([KEY])
    assert grants[0]["refresh_token"] == cipher.decrypt(first.refresh_token or "")
    second = stored_token(database)
    assert cipher.decrypt(second.refresh_token or "") != grants[0]["refresh_token"]  # rotated
    assert second.last_error is None
    with database.session() as db:
        user = db.scalar(select(User).where(User.peeringdb_id == ADA))
        assert user is not None and [a.asn for a in user.asns] == [A]


def test_recheck_refreshes_when_the_access_token_is_refused(
    new_client: Callable[[], TestClient], fake: FakePeeringDB, database: Database, ctx: JobContext
) -> None:
    pdb_login(new_client())
    fake.expire_access_tokens()
    make_due(database)
    assert recheck_peeringdb(ctx) == {"checked": 1, "failed": 0, "lost": 0, "sessions_ended": 0}
    assert [r.form["grant_type"] for r in fake.token_requests][-1] == "refresh_token"


def test_a_rotated_refresh_token_is_kept_when_the_profile_read_then_fails(
    new_client: Callable[[], TestClient], fake: FakePeeringDB, database: Database, ctx: JobContext
) -> None:
    fake.access_token_lifetime = 30  # expired for the client: refreshed first
    pdb_login(new_client())
    fake.userinfo_fault = "server_error"
    make_due(database)
    assert recheck_peeringdb(ctx)["failed"] == 1  # refreshed (old refresh token now dead)
    fake.userinfo_fault = None
    make_due(database)
    assert recheck_peeringdb(ctx)["checked"] == 1  # the rotated one was kept
    grants = [r for r in fake.token_requests if r.form["grant_type"] == "refresh_token"]
    assert len(grants) == 2


def test_recheck_without_a_refresh_token_and_an_expired_access_token_records_the_error(
    new_client: Callable[[], TestClient], fake: FakePeeringDB, database: Database, ctx: JobContext
) -> None:
    fake.issue_refresh_tokens = False
    session = pdb_login(new_client())
    fake.expire_access_tokens()
    make_due(database)
    assert recheck_peeringdb(ctx)["failed"] == 1
    assert stored_token(database).last_error.startswith("userinfo_failed")  # type: ignore[union-attr]
    assert asns(session) == {A, B}  # kept until the maximum age


def test_recheck_while_peeringdb_is_down_keeps_grants_and_records(
    new_client: Callable[[], TestClient], fake: FakePeeringDB, database: Database, ctx: JobContext
) -> None:
    session = pdb_login(new_client())
    with database.session() as db:
        user = db.scalar(select(User).where(User.peeringdb_id == ADA))
        assert user is not None
        confirmed = user.peeringdb_checked_at
    fake.update_account(ADA, networks=[])
    fake.down = True
    make_due(database)
    metrics = Metrics()
    assert recheck_peeringdb(ctx)["failed"] == 1
    assert metrics.peeringdb_rechecks.labels("failed")._value.get() == 1
    assert asns(session) == {A, B}
    row = stored_token(database)
    assert row.last_error and "503" in row.last_error
    assert row.last_attempt_at is not None and utcnow() - row.last_attempt_at < timedelta(1)
    with database.session() as db:
        user = db.scalar(select(User).where(User.peeringdb_id == ADA))
        assert user is not None and user.peeringdb_checked_at == confirmed
    # Not retried within the period; retried in the next one, when PeeringDB is back.
    fake.down = False
    assert recheck_peeringdb(ctx)["checked"] == 0
    make_due(database)
    assert recheck_peeringdb(ctx)["checked"] == 1
    assert metrics.peeringdb_rechecks.labels("lost")._value.get() == 1
    assert stored_token(database).last_error is None
    assert session.get("/api/v1/me").status_code == 401  # the networks were gone after all


@pytest.mark.both_databases
def test_maximum_age_without_a_successful_check_forces_a_new_login(
    new_client: Callable[[], TestClient],
    fake: FakePeeringDB,
    database: Database,
    ctx: JobContext,
) -> None:
    session = pdb_login(new_client())
    with database.session() as db:
        db.execute(
            update(User).values(peeringdb_checked_at=utcnow() - timedelta(days=7, minutes=1))
        )
    response = session.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"
    fake.down = True
    assert recheck_peeringdb(ctx)["sessions_ended"] == 1
    with database.session() as db:
        assert db.scalar(select(UserSession.revoked_at)) is not None
    [ended] = events(database, "user.sessions_revoked")
    assert ended.details["reason"] == "peeringdb_unconfirmed"
    fake.down = False
    assert asns(pdb_login(new_client())) == {A, B}  # a new login confirms again


@pytest.mark.both_databases
def test_concurrent_recheck_passes_check_each_user_once(
    new_client: Callable[[], TestClient],
    fake: FakePeeringDB,
    database: Database,
    settings: Settings,
    dispatcher: RecordingDispatcher,
) -> None:
    for user_id in range(5000, 5006):
        fake.user = FakeUser(id=user_id, networks=[network(A, 15)])
        pdb_login(new_client())
    make_due(database)
    seen = fake.userinfo_requests
    contexts = [build_context(settings, dispatcher, database) for _ in range(6)]
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(contexts))

    def run(context: JobContext) -> None:
        barrier.wait()
        try:
            results.append(recheck_peeringdb(context))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in contexts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for context in contexts:
        assert context.oidc is not None
        context.oidc.close()
    assert errors == []
    assert sum(r["checked"] for r in results) == 6
    assert fake.userinfo_requests - seen == 6


def test_runner_and_beat_schedule_the_recheck(settings: Settings) -> None:
    from ztix.jobs import celery_app

    configured = celery_app.configure(settings)
    entry = configured.conf.beat_schedule["ztix-recheck-peeringdb"]
    assert entry["task"] == "ztix.recheck_peeringdb"
    assert entry["task"] in configured.tasks
    assert entry["schedule"] == 600


def test_in_process_runner_runs_the_recheck(
    new_client: Callable[[], TestClient],
    fake: FakePeeringDB,
    database: Database,
    settings: Settings,
) -> None:
    from tests.support.waiting import wait_for
    from ztix.jobs.runner import InProcessRunner

    session = pdb_login(new_client())
    fake.update_account(ADA, networks=[network(A, 15)])
    make_due(database)
    runner = InProcessRunner(threads=1, reconcile_interval=3600)
    runner.bind(build_context(settings, runner, database))
    runner.start()
    try:
        wait_for("the re-check", lambda: session.get("/api/v1/me").status_code == 401)
    finally:
        runner.stop()
    assert [e.details["via"] for e in events(database, "user.grants_revoked")] == ["recheck"]


def test_token_keys_come_from_the_environment_or_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ztix.config import load_settings

    keyfile = tmp_path / "keys"
    keyfile.write_text(f"{KEY}\n")
    monkeypatch.setenv("ZTIX_PEERINGDB__TOKEN_KEYS_FILE", str(keyfile))
    cipher = TokenCipher.from_config(load_settings(None).peeringdb)
    assert cipher is not None and cipher.decrypt(TokenCipher([KEY]).encrypt("t")) == "t"
    monkeypatch.delenv("ZTIX_PEERINGDB__TOKEN_KEYS_FILE")
    monkeypatch.setenv("ZTIX_PEERINGDB__TOKEN_KEYS", "")
    assert TokenCipher.from_config(load_settings(None).peeringdb) is None


def test_admin_keeps_a_flagged_member(
    new_client: Callable[[], TestClient],
    fake: FakePeeringDB,
    database: Database,
    make_client: AppFactory,
) -> None:
    from tests.support.app import create_user

    session = pdb_login(new_client())
    active_b = file_request(session, B, "abcdef0002")
    make_active(database, active_b)
    fake.user = FakeUser(id=ADA, networks=[network(A, 15)])
    pdb_login(new_client())
    assert request_row(database, active_b).grant_lost_at is not None
    create_user(database, "root", admin=True)
    admin = login(make_client(), "root")
    kept = admin.post(f"/api/v1/admin/requests/{active_b}/keep")
    assert kept.status_code == 200, kept.text
    assert kept.json()["grant_lost_at"] is None and kept.json()["status"] == "active"
    assert admin.post(f"/api/v1/admin/requests/{active_b}/keep").status_code == 200
    [event] = events(database, "request.grant_lost_kept")
    assert event.actor == "root" and event.request_id == active_b
    assert session.post(f"/api/v1/admin/requests/{active_b}/keep").status_code in (401, 403)


@pytest.mark.both_databases
@pytest.mark.parametrize("known", [False, True], ids=["first-login", "changed-networks"])
def test_concurrent_logins_of_one_user_apply_grants_once(
    new_client: Callable[[], TestClient], fake: FakePeeringDB, database: Database, known: bool
) -> None:
    c = 3320
    if known:
        pdb_login(new_client())
        fake.user = FakeUser(id=ADA, networks=[network(A, 15), network(c, 15)])
    clients = [new_client() for _ in range(8)]
    answers = [authorize(c) for c in clients]
    statuses: list[int] = []
    barrier = threading.Barrier(len(clients))

    def callback(client: TestClient, answer: dict[str, str]) -> None:
        barrier.wait()
        statuses.append(client.post(CALLBACK, json=answer).status_code)

    threads = [
        threading.Thread(target=callback, args=pair) for pair in zip(clients, answers, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * len(clients)
    with database.session() as db:
        [user] = db.scalars(select(User).where(User.peeringdb_id == ADA)).all()
        assert sorted(a.asn for a in user.asns) == sorted([A, c] if known else [A, B])
    assert len(events(database, "user.grants_revoked")) == (1 if known else 0)
    assert len(events(database, "user.grants_added")) == (2 if known else 1)
