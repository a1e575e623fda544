"""Members' and admins' webhooks, their e-mail opt-out, and their delivery log."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ztix.auth.tokens import TokenCipher
from ztix.config import Settings
from ztix.db.base import utcnow
from ztix.db.models import Notification, User, Webhook
from ztix.errors import AppError
from ztix.notify import WebhookSender
from ztix.workflow import audit
from ztix.workflow.audit import Actor

_PLAIN, _SEALED = "plain:", "fernet:"


def seal_secret(secret: str, cipher: TokenCipher | None) -> str:
    """How a webhook secret is stored: encrypted under ``peeringdb.token_keys`` when keys
    are configured (it must be read back to sign), as is otherwise."""
    return _SEALED + cipher.encrypt(secret) if cipher else _PLAIN + secret


def open_secret(stored: str, cipher: TokenCipher | None) -> str | None:
    if stored.startswith(_PLAIN):
        return stored[len(_PLAIN) :]
    if stored.startswith(_SEALED) and cipher is not None:
        return cipher.decrypt(stored[len(_SEALED) :])
    return None


def owned(db: Session, user: User) -> list[Webhook]:
    query = select(Webhook).where(Webhook.user_id == user.id, Webhook.deleted_at.is_(None))
    return list(db.scalars(query.order_by(Webhook.id)))


def create(
    db: Session, settings: Settings, user: User, actor: Actor, url: str
) -> tuple[str, Webhook]:
    """A new webhook of ``user``; returns its signing secret (shown once) and its row."""
    try:
        WebhookSender(settings.notifications).check_target(url)
    except ValueError as exc:
        raise AppError("webhook_url_refused", str(exc)) from exc
    if len(owned(db, user)) >= settings.notifications.max_webhooks_per_user:
        raise AppError(
            "webhook_limit",
            f"At most {settings.notifications.max_webhooks_per_user} webhooks per account",
        )
    secret = "whsec_" + secrets.token_urlsafe(32)
    row = Webhook(
        user_id=user.id,
        url=url,
        secret=seal_secret(secret, TokenCipher.from_config(settings.peeringdb)),
        created_at=utcnow(),
    )
    db.add(row)
    db.flush()
    audit.record(
        db, actor, "webhook.created", target_type="webhook", target_id=row.id, details={"url": url}
    )
    return secret, row


def delete(db: Session, user: User, webhook_id: int, actor: Actor) -> None:
    row = db.get(Webhook, webhook_id)
    if row is None or row.user_id != user.id or row.deleted_at is not None:
        raise AppError("webhook_not_found")
    row.deleted_at = utcnow()
    audit.record(
        db,
        actor,
        "webhook.deleted",
        target_type="webhook",
        target_id=row.id,
        details={"url": row.url},
    )


def set_email(db: Session, user: User, actor: Actor, *, enabled: bool) -> None:
    if user.notify_email != enabled:
        user.notify_email = enabled
        audit.record(
            db,
            actor,
            "notifications.email_" + ("on" if enabled else "off"),
            target_type="user",
            target_id=user.id,
        )


def set_email_address(db: Session, user: User, actor: Actor, address: str) -> None:
    """A local account's notification address; a PeeringDB account's is PeeringDB's (it
    would be overwritten at the next login), so it is refused there."""
    if user.peeringdb_id is not None:
        raise AppError("email_address_managed")
    address = address.strip()
    if user.email != address:
        user.email = address
        # The address itself is personal data: the audit trail says that it changed.
        audit.record(
            db, actor, "notifications.email_address_changed", target_type="user", target_id=user.id
        )


def deliveries(
    db: Session, user: User, *, limit: int, offset: int
) -> tuple[list[Notification], int]:
    """The user's delivery log: their e-mails and their webhooks' deliveries, newest first."""
    where = Notification.user_id == user.id
    rows = db.scalars(
        select(Notification)
        .where(where)
        .order_by(Notification.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = db.scalar(select(func.count()).select_from(Notification).where(where)) or 0
    return list(rows), total
