"""A real SMTP server for the tests (aiosmtpd on a loopback port) that keeps every message
it accepts, parsed; ``stop()`` and ``start()`` again on the same port play a mail server
that goes down and comes back."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

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


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(_Keep(self.messages), hostname="127.0.0.1", port=self.port)
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
