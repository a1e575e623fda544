"""The notification outbox (issue 19).

:func:`request_changed` runs inside :func:`ztix.workflow.audit.record`, the one place every
request state change is recorded: the messages it tells about are written in the same
transaction as the change, so a change is never told without happening, nor happens
without being told. The delivery job (:func:`deliver_due`) claims due rows, sends them
with no transaction open, and records each outcome; a mail server or webhook receiver
that is down only delays delivery (retries with backoff, then ``gave_up``, kept and
visible). Provisioning never waits for any of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ztix.config import NotificationsConfig, Settings
from ztix.db.base import utcnow
from ztix.db.models import JoinRequest, Notification, User, UserAsn, Webhook
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus
from ztix.workflow import messages

log = logging.getLogger(__name__)
S = RequestStatus

# Which state changes are told, and to whom.
MEMBER_EVENTS = {
    S.APPROVED: "request.approved",
    S.REJECTED: "request.rejected",
    S.ACTIVE: "request.active",
    S.FAILED: "request.failed",
    S.REMOVED: "request.removed",
}
ADMIN_EVENTS = {S.PENDING: "request.submitted", S.FAILED: "request.failed"}
# How long a claimed row is left to its delivery job before another may take it.
CLAIM = timedelta(minutes=5)


class Mailer(Protocol):
    @property
    def enabled(self) -> bool: ...

    def send(self, mail: messages.Mail) -> None: ...


class WebhookPoster(Protocol):
    def post(self, url: str, secret: str, *, event: str, delivery: str, body: bytes) -> None: ...


# -- writing: in the transaction of the change ------------------------------------------


def request_changed(
    db: Session, request_id: Any, status: str, details: dict[str, Any] | None
) -> None:
    """Queue the messages about ``request_id`` entering ``status``."""
    target = RequestStatus(status)
    member_event, admin_event = MEMBER_EVENTS.get(target), ADMIN_EVENTS.get(target)
    if member_event is None and admin_event is None:
        return
    request = db.get(JoinRequest, request_id)
    if request is None:
        return
    facts = {
        "request_id": str(request.id),
        "asn": request.asn,
        "zt_network_id": request.network.zt_network_id,
        "network_name": request.network.name,
        "node_id": request.node_id,
        "status": target.value,
        "reason": (details or {}).get("reason") if target is S.REJECTED else None,
        "error": request.last_error_message if target is S.FAILED else None,
        "occurred_at": utcnow().isoformat(),
    }
    rows: dict[tuple[str, int | None, int | None], Notification] = {}

    def queue(event: str, audience: str, users: list[User]) -> None:
        payload = {**facts, "event": event, "audience": audience}
        for user in users:
            if user.email and user.notify_email:
                rows.setdefault(
                    ("email", user.id, None),
                    Notification(event=event, channel="email", user_id=user.id, payload=payload),
                )
            for hook in _webhooks_of(db, user.id):
                rows.setdefault(
                    ("webhook", user.id, hook.id),
                    Notification(
                        event=event,
                        channel="webhook",
                        user_id=user.id,
                        webhook_id=hook.id,
                        payload=payload,
                    ),
                )
        if audience == "admin":  # the configured shared mailboxes (notifications.admin_emails)
            rows.setdefault(
                ("email", None, None),
                Notification(event=event, channel="email", user_id=None, payload=payload),
            )

    if member_event is not None:
        queue(member_event, "member", _members_of(db, request))
    if admin_event is not None:
        queue(admin_event, "admin", _admins(db))
    now = utcnow()
    for row in rows.values():
        row.request_id = request.id
        row.status = "pending"
        row.attempts = 0
        row.created_at = row.next_attempt_at = now
    db.add_all(rows.values())


def _members_of(db: Session, request: JoinRequest) -> list[User]:
    """Who hears about a request: whoever asked, and everyone who holds its ASN now."""
    holders = select(UserAsn.user_id).where(UserAsn.asn == request.asn)
    query = select(User).where(
        User.is_active, or_(User.id == request.created_by_id, User.id.in_(holders))
    )
    return list(db.scalars(query.order_by(User.id)))


def _admins(db: Session) -> list[User]:
    return list(db.scalars(select(User).where(User.is_active, User.role == "admin")))


def _webhooks_of(db: Session, user_id: int) -> list[Webhook]:
    query = select(Webhook).where(Webhook.user_id == user_id, Webhook.deleted_at.is_(None))
    return list(db.scalars(query.order_by(Webhook.id)))


# -- delivering: the job ----------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    sent: int = 0
    failed: int = 0
    skipped: int = 0


def backoff(config: NotificationsConfig, attempts: int) -> timedelta:
    seconds = config.backoff_base_seconds * 2 ** min(attempts - 1, 30)
    return timedelta(seconds=min(seconds, config.backoff_max_seconds))


def claim_due(db: Session, limit: int, now: datetime) -> list[int]:
    """Reserve up to ``limit`` due rows for this job (``claimed_until``), atomically: two
    jobs never send one row at the same time."""
    due = (
        select(Notification.id)
        .where(
            Notification.status == "pending",
            Notification.next_attempt_at <= now,
            or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(db.scalars(due))
    if ids:
        db.execute(
            update(Notification).where(Notification.id.in_(ids)).values(claimed_until=now + CLAIM)
        )
    return ids


def deliver_due(
    database: Database,
    settings: Settings,
    mailer: Mailer,
    webhooks: WebhookPoster,
    *,
    secret_of: Callable[[str], str | None],
) -> Outcome:
    """One pass: claim due rows, send each with no transaction open, record each outcome."""
    config = settings.notifications
    with database.session() as db:
        ids = claim_due(db, config.batch_size, utcnow())
    sent = failed = skipped = 0
    for notification_id in ids:
        with database.read_session() as db:  # SQLite: no write lock while composing
            job = _prepare(db, settings, notification_id, mailer, secret_of)
        if job is None:
            continue
        if isinstance(job, str):  # nothing to send: why
            _finish(database, notification_id, "skipped", job)
            skipped += 1
            continue
        try:
            job(mailer, webhooks)
        except Exception as exc:
            _failed(database, config, notification_id, str(exc) or type(exc).__name__)
            failed += 1
        else:
            _finish(database, notification_id, "sent", None)
            sent += 1
    return Outcome(sent=sent, failed=failed, skipped=skipped)


Send = Callable[[Mailer, WebhookPoster], None]


def _prepare(
    db: Session,
    settings: Settings,
    notification_id: int,
    mailer: Mailer,
    secret_of: Callable[[str], str | None],
) -> Send | str | None:
    """What to send for one row (read while the transaction is open), or why nothing."""
    row = db.get(Notification, notification_id)
    if row is None or row.status != "pending":
        return None
    config = settings.notifications
    if not config.enabled:
        return "notifications are turned off (notifications.enabled)"
    request = db.get(JoinRequest, row.request_id) if row.request_id else None
    if row.channel == "webhook":
        hook = db.get(Webhook, row.webhook_id) if row.webhook_id else None
        if hook is None or hook.deleted_at is not None:
            return "the webhook was deleted"
        secret = secret_of(hook.secret)
        if secret is None:
            return "the webhook's secret cannot be decrypted (peeringdb.token_keys changed)"
        body = json.dumps(
            messages.webhook_body(settings, row.payload, request, delivery=row.id),
            separators=(",", ":"),
        ).encode()
        url, event, delivery = hook.url, row.event, str(row.id)
        return lambda _m, poster: poster.post(
            url, secret, event=event, delivery=delivery, body=body
        )
    if not mailer.enabled:
        return "e-mail is not configured (notifications.smtp.host)"
    if row.user_id is None:
        recipients = list(config.admin_emails)
    else:
        user = db.get(User, row.user_id)
        if user is None or not user.is_active or not user.notify_email or not user.email:
            return "the recipient turned e-mail off, or has no address"
        recipients = [user.email]
    if not recipients:
        return "no admin mailbox is configured (notifications.admin_emails)"
    mails = [messages.mail(settings, row.payload, request, to) for to in recipients]

    def send(m: Mailer, _w: WebhookPoster) -> None:
        for one in mails:
            m.send(one)

    return send


def _finish(database: Database, notification_id: int, status: str, note: str | None) -> None:
    with database.session() as db:
        row = db.get(Notification, notification_id)
        if row is None:
            return
        row.status = status
        row.attempts += 1 if status == "sent" else 0
        row.sent_at = utcnow() if status == "sent" else None
        row.last_error = note
        row.claimed_until = None


def _failed(
    database: Database, config: NotificationsConfig, notification_id: int, error: str
) -> None:
    with database.session() as db:
        row = db.get(Notification, notification_id)
        if row is None:
            return
        row.attempts += 1
        row.last_error = error[:2000]
        row.claimed_until = None
        if row.attempts >= config.max_attempts:
            row.status = "gave_up"
            log.warning("notification %s given up after %s attempts", row.id, row.attempts)
        else:
            row.next_attempt_at = utcnow() + backoff(config, row.attempts)
