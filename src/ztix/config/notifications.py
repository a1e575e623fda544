"""Notifications: e-mail over SMTP and webhooks, sent from the outbox by a job."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, FilePath, SecretStr

from ztix.config.base import Strict


class SmtpConfig(Strict):
    """The mail server. An empty ``host`` turns e-mail off (webhooks still go)."""

    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    # "starttls" (submission, 587), "tls" (implicit TLS, 465) or "none" (a local relay).
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    # From ZTIX_NOTIFICATIONS__SMTP__PASSWORD or ..._PASSWORD_FILE, never the file.
    password: SecretStr = SecretStr("")
    from_address: str = Field("ZT-IX <ztix@localhost>", min_length=3, max_length=320)
    # PEM file of the CA certificate(s) to trust for the mail server's certificate, instead
    # of the system's store (a private CA, a self-signed relay). Checked either way: a
    # certificate that does not verify for ``host`` fails the delivery (it is retried).
    ca_file: FilePath | None = None
    timeout_seconds: float = Field(10, gt=0, le=120)


class NotificationsConfig(Strict):
    enabled: bool = True
    smtp: SmtpConfig = SmtpConfig()
    # The web app's address, for the links in e-mails ("<base_url>/requests/<id>").
    base_url: str = Field("http://127.0.0.1:8000", pattern=r"^https?://\S+$")
    # Where admin notifications (new requests, failures) go besides every admin account's
    # own e-mail address, e.g. a shared NOC mailbox.
    admin_emails: tuple[str, ...] = ()
    # How often the delivery job looks for due notifications, and how many it takes at once.
    poll_seconds: float = Field(5, gt=0, le=3600)
    batch_size: int = Field(50, ge=1, le=1000)
    # A failed delivery is retried after backoff_base_seconds, doubling up to
    # backoff_max_seconds, and given up (marked, never deleted) after max_attempts.
    max_attempts: int = Field(30, ge=1, le=1000)
    backoff_base_seconds: float = Field(30, gt=0)
    backoff_max_seconds: float = Field(3600, gt=0)
    webhook_timeout_seconds: float = Field(10, gt=0, le=120)
    # Webhook URLs may name private, loopback or link-local addresses (a test receiver, an
    # admin's NOC box). Off by default: members' URLs must not reach the IX's own network.
    allow_private_webhook_targets: bool = False
    # Each member and admin may register this many webhooks.
    max_webhooks_per_user: int = Field(5, ge=0, le=100)
