"""The delivery job of the notification outbox: every ``notifications.poll_seconds`` (a
thread of the in-process runner, or Celery beat), one pass of
:func:`ztix.workflow.outbox.deliver_due` with the SMTP and webhook adapters."""

from __future__ import annotations

from ztix.auth.tokens import TokenCipher
from ztix.config import Settings
from ztix.jobs.tasks import JobContext
from ztix.notify import SmtpMailer, WebhookSender
from ztix.workflow import outbox, webhooks


def deliver_notifications(ctx: JobContext) -> dict[str, int]:
    settings: Settings = ctx.settings
    cipher = TokenCipher.from_config(settings.peeringdb)
    sender = WebhookSender(settings.notifications)
    try:
        outcome = outbox.deliver_due(
            ctx.database,
            settings,
            SmtpMailer(settings.notifications.smtp),
            sender,
            secret_of=lambda stored: webhooks.open_secret(stored, cipher),
        )
    finally:
        sender.close()
    return {"sent": outcome.sent, "failed": outcome.failed, "skipped": outcome.skipped}
