"""Notifications: the user's e-mail choice, their webhooks and their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ztix.db.models import Notification, Webhook


class NotificationSettings(BaseModel):
    email: bool = Field(description="E-mail about your requests (admins: the queue's)")
    email_address: str | None = Field(description="Where they go (your account's address)")
    email_configured: bool = Field(description="Whether this IX sends e-mail at all")
    email_address_editable: bool = Field(
        description="Whether you may change the address here (local accounts; a PeeringDB "
        "account's address is PeeringDB's, refreshed at each login)"
    )


# One address, no display name: what the mail goes to (RFC 5321 allows 254 in a path).
EMAIL_ADDRESS = (
    r"^[^@\s<>()\[\],;:\\\"\x00-\x1f]+"  # the local part: no spaces, brackets or controls
    r"@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,63}$"  # a dotted domain
)


class NotificationSettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: bool | None = Field(None, description="E-mail on or off")
    email_address: str | None = Field(
        None,
        min_length=6,
        max_length=254,
        pattern=EMAIL_ADDRESS,
        description="Where your e-mail goes (local accounts only)",
    )

    @model_validator(mode="after")
    def _something(self) -> NotificationSettingsUpdate:
        if self.email is None and self.email_address is None:
            raise ValueError("give email, email_address or both")
        return self


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s\x00]+$")


class WebhookOut(BaseModel):
    id: int
    url: str
    created_at: datetime

    @classmethod
    def of(cls, row: Webhook) -> WebhookOut:
        return cls(id=row.id, url=row.url, created_at=row.created_at)


class WebhookCreated(BaseModel):
    webhook: WebhookOut
    secret: str = Field(
        description="Verify X-ZTIX-Signature (sha256=HMAC-SHA256 of '<X-ZTIX-Timestamp>.<body>') "
        "with it: shown this once"
    )


class DeliveryOut(BaseModel):
    id: int
    created_at: datetime
    event: str
    channel: Literal["email", "webhook"]
    target: str = Field(description="The e-mail recipient or the webhook URL")
    request_id: uuid.UUID | None
    status: Literal["pending", "sent", "gave_up", "skipped"]
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, row: Notification, target: str) -> DeliveryOut:
        return cls(
            id=row.id,
            created_at=row.created_at,
            event=row.event,
            channel="webhook" if row.channel == "webhook" else "email",
            target=target,
            request_id=row.request_id,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
            sent_at=row.sent_at,
            last_error=row.last_error,
        )
