"""A user's notifications: e-mail on or off, webhooks, and the log of every delivery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from ztix.api.deps import (
    ClientAddress,
    Csrf,
    CurrentSession,
    CurrentUser,
    DatabaseRoute,
    DbSession,
    SettingsDep,
)
from ztix.api.problems import responses
from ztix.api.schemas.common import MAX_OFFSET, AsciiDigits, Limit, Offset, Page
from ztix.api.schemas.notifications import (
    DeliveryOut,
    NotificationSettings,
    NotificationSettingsUpdate,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
)
from ztix.config import Settings
from ztix.db.models import User
from ztix.workflow import webhooks as service
from ztix.workflow.audit import Actor

router = APIRouter(
    route_class=DatabaseRoute, prefix="/api/v1", tags=["notifications"], dependencies=[Csrf]
)

AUTH = ("not_authenticated", "session_expired", "account_disabled", "token_not_allowed")
WebhookId = Annotated[int, Path(ge=1, le=MAX_OFFSET), AsciiDigits]


def _settings_of(user: User, settings: Settings) -> NotificationSettings:
    return NotificationSettings(
        email=user.notify_email,
        email_address=user.email,
        email_configured=bool(settings.notifications.smtp.host),
        email_address_editable=user.peeringdb_id is None,
    )


@router.get(
    "/notifications/settings", response_model=NotificationSettings, responses=responses(*AUTH)
)
def get_notification_settings(
    session: CurrentSession, settings: SettingsDep
) -> NotificationSettings:
    """Whether you get e-mail about your requests, and where it goes."""
    return _settings_of(session.user, settings)


@router.put(
    "/notifications/settings",
    response_model=NotificationSettings,
    responses=responses(*AUTH, "csrf_failed", "email_address_managed"),
)
def update_notification_settings(
    body: NotificationSettingsUpdate,
    db: DbSession,
    session: CurrentSession,
    settings: SettingsDep,
    address: ClientAddress,
) -> NotificationSettings:
    """Turn e-mail off (or on again), or change where it goes (a local account's; a
    PeeringDB account's address is PeeringDB's). Messages already queued follow the new
    choice and go to the new address."""
    user = session.user
    actor = Actor.for_user(user, address)
    if body.email_address is not None:
        service.set_email_address(db, user, actor, body.email_address)
    if body.email is not None:
        service.set_email(db, user, actor, enabled=body.email)
    db.commit()
    return _settings_of(user, settings)


@router.get("/webhooks", response_model=list[WebhookOut], responses=responses(*AUTH))
def list_webhooks(db: DbSession, session: CurrentSession) -> list[WebhookOut]:
    """Your webhooks (their secrets are never shown again)."""
    return [WebhookOut.of(w) for w in service.owned(db, session.user)]


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses=responses(*AUTH, "csrf_failed", "webhook_url_refused", "webhook_limit"),
)
def create_webhook(
    body: WebhookCreate,
    db: DbSession,
    session: CurrentSession,
    settings: SettingsDep,
    address: ClientAddress,
) -> WebhookCreated:
    """POST each event about your requests (admins: new requests and failures) to ``url``
    as JSON, signed with the secret in this answer."""
    user = session.user
    secret, row = service.create(db, settings, user, Actor.for_user(user, address), body.url)
    db.commit()
    return WebhookCreated(webhook=WebhookOut.of(row), secret=secret)


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    responses=responses(*AUTH, "csrf_failed", "webhook_not_found"),
)
def delete_webhook(
    webhook_id: WebhookId, db: DbSession, session: CurrentSession, address: ClientAddress
) -> Response:
    """Stop sending to a webhook; its queued deliveries are skipped."""
    service.delete(db, session.user, webhook_id, Actor.for_user(session.user, address))
    db.commit()
    return Response(status_code=204)


@router.get(
    "/notifications/deliveries",
    response_model=Page[DeliveryOut],
    responses=responses("not_authenticated", "session_expired", "account_disabled"),
)
def list_deliveries(
    db: DbSession, user: CurrentUser, settings: SettingsDep, limit: Limit = 50, offset: Offset = 0
) -> Page[DeliveryOut]:
    """Every e-mail and webhook delivery addressed to you, newest first: sent, waiting for
    a retry (with the last error), or given up."""
    rows, total = service.deliveries(db, user, limit=limit, offset=offset)
    hooks = {w.id: w.url for w in service.owned(db, user)}
    items = [
        DeliveryOut.of(
            r,
            hooks.get(r.webhook_id or 0, "(deleted webhook)")
            if r.channel == "webhook"
            else (user.email or ""),
        )
        for r in rows
    ]
    return Page(items=items, total=total, limit=limit, offset=offset)
