"""Notifications end to end: the outbox row is written with the state change, the delivery
job sends it through a real SMTP server (aiosmtpd) and to a real HTTP receiver, and a
server that is down delays delivery (retries with backoff) without losing it or holding
provisioning back. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update

from tests.support.app import LOOPBACK, RecordingDispatcher
from tests.support.smtp import SmtpServer, parts
from tests.support.tls import make_server_certificate
from tests.support.webhook_receiver import WebhookReceiver
from ztix.api.app import create_app
from ztix.config import Settings
from ztix.db.base import utcnow
from ztix.db.models import JoinRequest, Notification, User, Webhook
from ztix.db.session import Database
from ztix.errors import AppError
from ztix.jobs.notifications import deliver_notifications
from ztix.jobs.tasks import JobContext, process_request
from ztix.notify import SIGNATURE_HEADER, sign
from ztix.workflow import audit, users, webhooks
from ztix.workflow import requests as service

ASN = 213035
NODE = "abcdef0123"
ROOT = audit.Actor(name="root")


def notification_settings(smtp: SmtpServer, **extra: Any) -> dict[str, Any]:
    return {
        "notifications": {
            "smtp": smtp.config(),
            "base_url": "https://ix.example.net",
            "admin_emails": ["noc@ix.example.net"],
            "allow_private_webhook_targets": True,
            **extra,
        }
    }


def people(database: Database, settings: Settings, hook_url: str | None = None) -> str | None:
    """An admin and a member with e-mail addresses; the member's webhook (its secret)."""
    with database.session() as db:
        users.create_local_user(
            db,
            audit.CLI,
            username="root",
            password="x" * 12,
            admin=True,
            email="root@ix.example.net",
        )
        alice = users.create_local_user(
            db,
            audit.CLI,
            username="alice",
            password="x" * 12,
            asns=[ASN],
            email="alice@example.net",
        )
        if hook_url is None:
            return None
        secret, _ = webhooks.create(db, settings, alice, audit.CLI, hook_url)
        return secret


def submit(database: Database, settings: Settings) -> uuid.UUID:
    with database.session() as db:
        alice = db.scalar(select(User).where(User.username == "alice"))
        assert alice is not None
        nwid = settings.networks[0].zt_network_id
        request = service.create_request(
            db,
            settings,
            alice,
            audit.Actor.for_user(alice),
            asn=ASN,
            zt_network_id=nwid,
            node_id=NODE,
        )
        return request.id


def outbox(database: Database) -> list[Notification]:
    with database.session() as db:
        return list(db.scalars(select(Notification).order_by(Notification.id)))


def make_due(database: Database) -> None:
    """The backoff has passed (rather than waiting it out)."""
    with database.session() as db:
        db.execute(update(Notification).values(next_attempt_at=utcnow()))


def test_the_outbox_is_written_with_the_change_and_only_then(
    job_context: Callable[..., JobContext],
    zt_settings: Callable[..., Settings],
    database: Database,
    smtp_server: SmtpServer,
) -> None:
    settings = zt_settings(**notification_settings(smtp_server))
    people(database, settings)
    rid = submit(database, settings)
    rows = outbox(database)
    assert {(r.event, r.channel, r.user_id is None) for r in rows} == {
        ("request.submitted", "email", False),  # root, an admin
        ("request.submitted", "email", True),  # the shared NOC mailbox
    }
    assert all(r.status == "pending" and r.request_id == rid for r in rows)
    with database.session() as db:
        service.reject(db, rid, ROOT, "Your PeeringDB record lists no NOC contact")
    assert len(outbox(database)) == 3
    # A change that fails writes nothing: the transaction rolls back, outbox included.
    with database.session() as db:
        try:
            service.approve(db, rid, ROOT)
        except AppError as exc:
            assert exc.code == "invalid_transition"
            db.rollback()
    assert len(outbox(database)) == 3
    [rejected] = [r for r in outbox(database) if r.event == "request.rejected"]
    assert rejected.payload["reason"] == "Your PeeringDB record lists no NOC contact"
    assert rejected.payload["audience"] == "member"


def test_members_and_admins_get_mail_with_text_and_html(
    job_context: Callable[..., JobContext],
    zt_settings: Callable[..., Settings],
    database: Database,
    smtp_server: SmtpServer,
) -> None:
    settings = zt_settings(**notification_settings(smtp_server))
    ctx = job_context(settings)
    people(database, settings)
    rid = submit(database, settings)
    with database.session() as db:
        service.approve(db, rid, ROOT)
    assert process_request(ctx, rid).done
    assert deliver_notifications(ctx) == {"sent": 4, "failed": 0, "skipped": 0}
    by_subject = {m["Subject"]: m for m in smtp_server.wait_for(4)}
    nwname = settings.networks[0].name
    assert (
        set(by_subject)
        == {
            f"[ZT-IX] New request: AS{ASN} on {nwname}",
            f"[ZT-IX] Approved: AS{ASN} on {nwname}",
            f"[ZT-IX] Connected: AS{ASN} is live on {nwname}",
        }
        and len(smtp_server.messages) == 4
    )
    submitted = [m for m in smtp_server.messages if "New request" in m["Subject"]]
    assert sorted(m["To"] for m in submitted) == ["noc@ix.example.net", "root@ix.example.net"]
    active = by_subject[f"[ZT-IX] Connected: AS{ASN} is live on {nwname}"]
    assert active["To"] == "alice@example.net"
    text, markup = parts(active)
    nwid = settings.networks[0].zt_network_id
    assert f"zerotier-cli join {nwid}" in text
    assert "192.0.2.1" in text and "2001:db8:ab::21:3035:1" in text
    assert f"https://ix.example.net/requests/{rid}" in text
    assert f'href="https://ix.example.net/requests/{rid}"' in markup
    assert all(r.status == "sent" and r.sent_at for r in outbox(database))
    # A second pass sends nothing twice.
    assert deliver_notifications(ctx) == {"sent": 0, "failed": 0, "skipped": 0}


def test_opted_out_members_get_no_mail(
    job_context: Callable[..., JobContext],
    zt_settings: Callable[..., Settings],
    database: Database,
    smtp_server: SmtpServer,
) -> None:
    settings = zt_settings(**notification_settings(smtp_server, admin_emails=[]))
    ctx = job_context(settings)
    people(database, settings)
    rid = submit(database, settings)
    with database.session() as db:
        service.approve(db, rid, ROOT)
        alice = db.scalar(select(User).where(User.username == "alice"))
        assert alice is not None
        webhooks.set_email(db, alice, audit.CLI, enabled=False)  # after the row was queued
    outcome = deliver_notifications(ctx)
    assert outcome["skipped"] == 2  # alice's approval mail and the empty NOC list
    assert [m["To"] for m in smtp_server.messages] == ["root@ix.example.net"]


def test_webhooks_are_signed_and_a_receiver_that_is_down_gets_them_later(
    job_context: Callable[..., JobContext],
    zt_settings: Callable[..., Settings],
    database: Database,
    smtp_server: SmtpServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    settings = zt_settings(**notification_settings(smtp_server))
    ctx = job_context(settings)
    secret = people(database, settings, webhook_receiver.url)
    assert secret is not None
    with database.session() as db:
        [stored] = db.scalars(select(Webhook))
    assert secret not in stored.secret or stored.secret.startswith("plain:")
    webhook_receiver.stop()  # the member's receiver is down
    rid = submit(database, settings)
    with database.session() as db:
        service.approve(db, rid, ROOT)
    assert process_request(ctx, rid).done  # provisioning does not wait for anyone
    with database.session() as db:
        request = db.get(JoinRequest, rid)
        assert request is not None and request.status == "active"
    first = deliver_notifications(ctx)
    assert first["failed"] == 2 and first["sent"] == 4  # two webhooks wait, mail went
    waiting = [r for r in outbox(database) if r.channel == "webhook"]
    assert all(r.status == "pending" and r.attempts == 1 for r in waiting)
    assert all(r.last_error and r.next_attempt_at > utcnow() for r in waiting)
    assert deliver_notifications(ctx)["failed"] == 0  # not due yet: the backoff holds
    webhook_receiver.start()
    make_due(database)
    assert deliver_notifications(ctx)["sent"] == 2
    events = [json.loads(r.body) for r in webhook_receiver.received]
    assert [e["event"] for e in events] == ["request.approved", "request.active"]
    active = events[1]
    assert active["request"]["request_id"] == str(rid)
    assert active["membership"]["ipv4"] == "192.0.2.1"
    for received in webhook_receiver.received:
        stamp = received.headers["X-ZTIX-Timestamp"]
        assert received.headers[SIGNATURE_HEADER] == sign(secret, stamp, received.body)
        assert received.headers["Content-Type"] == "application/json"
    assert all(r.status == "sent" for r in outbox(database))


def test_a_mail_server_that_stays_down_is_given_up_visibly(
    job_context: Callable[..., JobContext],
    zt_settings: Callable[..., Settings],
    database: Database,
    smtp_server: SmtpServer,
) -> None:
    settings = zt_settings(**notification_settings(smtp_server, max_attempts=2))
    ctx = job_context(settings)
    people(database, settings)
    smtp_server.stop()
    submit(database, settings)
    assert deliver_notifications(ctx)["failed"] == 2
    make_due(database)
    assert deliver_notifications(ctx)["failed"] == 2
    rows = outbox(database)
    assert {r.status for r in rows} == {"gave_up"}
    assert all("SMTP 127.0.0.1" in (r.last_error or "") for r in rows)


def tls_settings(server: SmtpServer, ca_file: Path, security: str, **smtp: Any) -> dict[str, Any]:
    """Mail to ``server`` by its name, trusting only ``ca_file``; nothing for the admins'
    shared mailbox, so each test counts its own two messages."""
    return {
        "notifications": {
            "smtp": {
                "host": "localhost",
                "port": server.port,
                "security": security,
                "ca_file": str(ca_file),
                "timeout_seconds": 5,
                **smtp,
            },
            "admin_emails": ["noc@ix.example.net"],
        }
    }


def test_mail_goes_over_starttls_with_auth_to_a_server_that_requires_both(
    job_context: Callable[..., JobContext],
    zt_settings: Callable[..., Settings],
    database: Database,
    tmp_path: Path,
) -> None:
    cert = make_server_certificate(tmp_path / "tls")
    server = SmtpServer(tls=cert.server_context(), login=("ztix", "mail-secret")).start()
    try:
        settings = zt_settings(
            **tls_settings(
                server, cert.ca_file, "starttls", username="ztix", password="mail-secret"
            )
        )
        ctx = job_context(settings)
        people(database, settings)
        submit(database, settings)
        assert deliver_notifications(ctx) == {"sent": 2, "failed": 0, "skipped": 0}
        received = server.wait_for(2)
        assert sorted(m["To"] for m in received) == ["noc@ix.example.net", "root@ix.example.net"]
        assert server.logins == ["ztix", "ztix"]  # one login per message, after STARTTLS
        assert all(r.status == "sent" for r in outbox(database))
    finally:
        server.stop()


def test_mail_goes_over_implicit_tls(
    job_context: Callable[..., JobContext],
    zt_settings: Callable[..., Settings],
    database: Database,
    tmp_path: Path,
) -> None:
    cert = make_server_certificate(tmp_path / "tls")
    server = SmtpServer(tls=cert.server_context(), implicit_tls=True).start()
    try:
        settings = zt_settings(**tls_settings(server, cert.ca_file, "tls"))
        ctx = job_context(settings)
        people(database, settings)
        submit(database, settings)
        assert deliver_notifications(ctx) == {"sent": 2, "failed": 0, "skipped": 0}
        assert len(server.wait_for(2)) == 2
    finally:
        server.stop()


@pytest.mark.both_databases
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_a_certificate_that_does_not_verify_keeps_the_mail_in_the_outbox(
    job_context: Callable[..., JobContext],
    zt_settings: Callable[..., Settings],
    database: Database,
    tmp_path: Path,
    security: str,
) -> None:
    cert = make_server_certificate(tmp_path / "server")
    stranger = make_server_certificate(tmp_path / "other", ca_name="Some other CA")
    server = SmtpServer(
        tls=cert.server_context(),
        implicit_tls=security == "tls",
        login=("ztix", "mail-secret") if security == "starttls" else None,
    ).start()
    try:
        settings = zt_settings(
            **tls_settings(
                server, stranger.ca_file, security, username="ztix", password="mail-secret"
            )
        )
        ctx = job_context(settings)
        people(database, settings)
        submit(database, settings)
        assert deliver_notifications(ctx) == {"sent": 0, "failed": 2, "skipped": 0}
        rows = outbox(database)
        assert all(r.status == "pending" and r.attempts == 1 for r in rows)  # retried later
        assert all("CERTIFICATE_VERIFY_FAILED" in (r.last_error or "") for r in rows)
        assert server.messages == [] and server.logins == []  # nothing went in clear text
        make_due(database)
        assert deliver_notifications(ctx)["failed"] == 2
        assert {r.attempts for r in outbox(database)} == {2}
    finally:
        server.stop()


def test_starttls_is_never_skipped_when_the_server_does_not_offer_it(
    job_context: Callable[..., JobContext],
    zt_settings: Callable[..., Settings],
    database: Database,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    cert = make_server_certificate(tmp_path / "tls")
    settings = zt_settings(
        **tls_settings(smtp_server, cert.ca_file, "starttls", username="ztix", password="x")
    )
    ctx = job_context(settings)
    people(database, settings)
    submit(database, settings)
    assert deliver_notifications(ctx)["failed"] == 2
    assert all("STARTTLS" in (r.last_error or "") for r in outbox(database))
    assert smtp_server.messages == []


def backlog(settings: Settings, database: Database) -> dict[tuple[str, ...], float]:
    """The outbox gauges from a scrape of the API's ``/metrics``."""
    app = create_app(settings, database=database, dispatcher=RecordingDispatcher(seen=[]))
    text = TestClient(app, client=LOOPBACK).get("/metrics").text
    found: dict[tuple[str, ...], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "ztix_notifications_outbox":
                found[(s.labels["channel"], s.labels["state"])] = s.value
            elif s.name == "ztix_notifications_oldest_pending_age_seconds":
                found[(s.labels["channel"], "age")] = s.value
    return found


@pytest.mark.both_databases
def test_the_outbox_backlog_shows_in_metrics(
    job_context: Callable[..., JobContext],
    zt_settings: Callable[..., Settings],
    database: Database,
    smtp_server: SmtpServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    settings = zt_settings(**notification_settings(smtp_server, max_attempts=2))
    ctx = job_context(settings)
    people(database, settings, webhook_receiver.url)
    assert backlog(settings, database) == {
        (channel, state): 0
        for channel in ("email", "webhook")
        for state in ("pending", "retrying", "gave_up", "age")
    }
    smtp_server.stop()
    webhook_receiver.stop()
    rid = submit(database, settings)  # mail to root and the NOC
    first = min(r.id for r in outbox(database))
    with database.session() as db:
        service.approve(db, rid, ROOT)  # mail and a webhook to alice
        db.execute(  # the first was queued an hour ago
            update(Notification)
            .where(Notification.id == first)
            .values(created_at=utcnow() - timedelta(hours=1))
        )
    before = backlog(settings, database)
    assert (before[("email", "pending")], before[("webhook", "pending")]) == (3, 1)
    assert before[("email", "retrying")] == before[("webhook", "retrying")] == 0
    assert before[("email", "age")] >= 3600 and before[("webhook", "age")] < 3600
    assert deliver_notifications(ctx)["failed"] == 4  # both down: all wait for a retry
    failing = backlog(settings, database)
    assert (failing[("email", "retrying")], failing[("webhook", "retrying")]) == (3, 1)
    assert failing[("email", "pending")] == 3 and failing[("email", "gave_up")] == 0
    smtp_server.start()  # mail comes back; the receiver stays down and is given up
    make_due(database)
    assert deliver_notifications(ctx) == {"sent": 3, "failed": 1, "skipped": 0}
    after = backlog(settings, database)
    assert after[("email", "pending")] == after[("webhook", "pending")] == 0
    assert after[("email", "age")] == after[("webhook", "age")] == 0
    assert after[("webhook", "gave_up")] == 1 and after[("email", "gave_up")] == 0
