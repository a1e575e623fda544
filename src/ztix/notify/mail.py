"""E-mail over SMTP with the standard library: a plain-text and an HTML part, STARTTLS or
implicit TLS with certificate checks (against ``smtp.ca_file`` when set, else the system's
CAs), and login when a username is configured. With ``starttls`` a server that does not
offer STARTTLS, or whose certificate does not verify, gets nothing: no login, no message."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from ztix.config import SmtpConfig


class DeliveryFailed(Exception):
    """One attempt failed; the message says why (it goes to the delivery log)."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str


class SmtpMailer:
    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    @property
    def enabled(self) -> bool:
        return bool(self._config.host)

    def message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._config.from_address
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="ztix")
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        message.set_content(mail.text)
        message.add_alternative(mail.html, subtype="html")
        return message

    def tls_context(self) -> ssl.SSLContext:
        """Certificate and host name checked, as ``ssl.create_default_context`` does."""
        ca_file = self._config.ca_file
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    def send(self, mail: Mail) -> None:
        c = self._config
        try:
            if c.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=c.timeout_seconds, context=self.tls_context()
                )
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout_seconds)
            with smtp:
                if c.security == "starttls":
                    # Raises when the server offers no STARTTLS: never on in clear text.
                    smtp.starttls(context=self.tls_context())
                if c.username:
                    smtp.login(c.username, c.password.get_secret_value())
                smtp.send_message(self.message(mail))
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP {c.host}:{c.port}: {exc}") from exc
