"""A real SMTP server for the tests (aiosmtpd on a loopback port) that keeps every message
it accepts, parsed; ``stop()`` and ``start()`` again on the same port play a mail server
that goes down and comes back. With ``tls`` it offers STARTTLS (and requires it, and AUTH
over it when ``login`` is set) or, with ``implicit_tls``, speaks TLS from the first byte
(SMTPS)."""

from __future__ import annotations

import email
import email.policy
import ssl
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.services import free_port
from tests.support.waiting import wait_for


class _Keep:
    def __init__(self, box: list[EmailMessage]) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.box.append(message)
        return "250 Message accepted for delivery"


class _Accounts:
    """AUTH PLAIN/LOGIN against one username and password; remembers who logged in."""

    def __init__(self, username: str, password: str, logins: list[str]) -> None:
        self._username, self._password, self.logins = username, password, logins

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self._username
            and auth_data.password.decode() == self._password
        ):
            self.logins.append(self._username)
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


class SmtpServer:
    def __init__(
        self,
        *,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []
        self._tls = tls
        self._implicit = implicit_tls
        self._login = login
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        options: dict[str, Any] = {}
        if self._tls is not None and self._implicit:
            options["ssl_context"] = self._tls
        elif self._tls is not None:
            options.update(tls_context=self._tls, require_starttls=True)
        if self._login is not None:
            # AUTH only after TLS (aiosmtpd's default), and no mail without it.
            options.update(
                authenticator=_Accounts(*self._login, self.logins),
                auth_required=True,
                auth_require_tls=True,
            )
        self._controller = Controller(
            _Keep(self.messages),
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            **options,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def config(self) -> dict[str, Any]:
        """The ``notifications.smtp`` section that sends here (a local relay: no TLS)."""
        return {"host": "127.0.0.1", "port": self.port, "security": "none", "timeout_seconds": 5}

    def wait_for(self, count: int) -> list[EmailMessage]:
        wait_for(f"{count} messages", lambda: len(self.messages) >= count, 10)
        return self.messages


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and the HTML body of a message."""
    text = message.get_body(preferencelist=("plain",))
    markup = message.get_body(preferencelist=("html",))
    assert text is not None and markup is not None
    return str(text.get_content()), str(markup.get_content())
