"""Adapters that send notifications: e-mail over SMTP (``mail``) and signed webhooks
(``webhooks``). They send one message and raise :class:`DeliveryFailed`; the outbox, the
retries and the delivery log are the workflow's (``ztix.workflow.outbox``)."""

from ztix.notify.mail import DeliveryFailed, Mail, SmtpMailer
from ztix.notify.webhooks import SIGNATURE_HEADER, WebhookSender, sign

__all__ = ["SIGNATURE_HEADER", "DeliveryFailed", "Mail", "SmtpMailer", "WebhookSender", "sign"]
