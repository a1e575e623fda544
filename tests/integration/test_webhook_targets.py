"""Webhook targets are resolved once: the address that was checked is the address connected
to, so a name that answers differently the second time (DNS rebinding) cannot slip a
private address past the check. Real receivers on two loopback addresses and over TLS; the
system resolver is replaced by one that changes its answer after the first lookup."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.services import free_port
from tests.support.tls import make_server_certificate
from tests.support.webhook_receiver import WebhookReceiver
from ztix.config import NotificationsConfig
from ztix.notify import DeliveryFailed, WebhookSender

NAME = "hooks.example.net"
PUBLIC = "2001:4860:4860::8888"  # a global address: passes the check, hosts no receiver


class Rebinding:
    """``socket.getaddrinfo`` for NAME answering ``answers`` in turn (the last one from then
    on); every other name goes to the real resolver."""

    def __init__(self, *answers: str | tuple[str, ...]) -> None:
        self.answers = [(a,) if isinstance(a, str) else a for a in answers]
        self.lookups = 0
        self._real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host != NAME:
            return self._real(host, port, *args, **kwargs)
        addresses = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, int(port), 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port)))
            for a in addresses
        ]


@pytest.fixture
def receivers() -> Iterator[tuple[WebhookReceiver, WebhookReceiver]]:
    """Two receivers on one port: 127.0.0.1 (checked) and 127.0.0.2 (the rebinding)."""
    port = free_port()
    first = WebhookReceiver(port=port).start()
    second = WebhookReceiver(port=port, host="127.0.0.2").start()
    yield first, second
    first.stop()
    second.stop()


def deliver(sender: WebhookSender, url: str) -> None:
    sender.post(url, "secret", event="request.active", delivery="d-1", body=b"{}")


def test_the_connection_goes_to_the_address_that_was_checked(
    receivers: tuple[WebhookReceiver, WebhookReceiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    checked, rebound = receivers
    resolver = Rebinding("127.0.0.1", "127.0.0.2")
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    sender = WebhookSender(NotificationsConfig(allow_private_webhook_targets=True))
    try:
        deliver(sender, f"http://{NAME}:{checked.port}/hooks/ztix")
    finally:
        sender.close()
    assert resolver.lookups == 1  # one lookup, no second one at connect time
    assert [r.headers["Host"] for r in checked.received] == [f"{NAME}:{checked.port}"]
    assert rebound.received == []


def test_an_address_that_does_not_answer_gives_way_to_the_next_checked_one(
    receivers: tuple[WebhookReceiver, WebhookReceiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, second = receivers  # on 127.0.0.2; nothing listens on 127.0.0.3
    resolver = Rebinding(("127.0.0.3", "127.0.0.2"))
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    sender = WebhookSender(NotificationsConfig(allow_private_webhook_targets=True))
    try:
        deliver(sender, f"http://{NAME}:{second.port}/hooks/ztix")
    finally:
        sender.close()
    assert resolver.lookups == 1
    assert len(second.received) == 1


def test_a_name_rebound_to_a_private_address_after_the_check_is_not_reached(
    receivers: tuple[WebhookReceiver, WebhookReceiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, _ = receivers
    resolver = Rebinding(PUBLIC, "127.0.0.1")  # public for the check, then the IX's own
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    sender = WebhookSender(NotificationsConfig(webhook_timeout_seconds=1))
    try:
        with pytest.raises(DeliveryFailed) as failed:
            deliver(sender, f"http://{NAME}:{private.port}/hooks/ztix")
        assert PUBLIC in str(failed.value)  # it tried the checked address, and only that
        assert resolver.lookups == 1
        assert private.received == []
        # The next delivery resolves again and is refused outright.
        with pytest.raises(DeliveryFailed, match="not on the public Internet"):
            deliver(sender, f"http://{NAME}:{private.port}/hooks/ztix")
    finally:
        sender.close()
    assert private.received == []


def test_https_to_the_checked_address_verifies_the_certificate_for_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = make_server_certificate(tmp_path, names=(NAME,))  # no IP address in it
    other = make_server_certificate(tmp_path / "other", names=("other.example.net",))
    receiver = WebhookReceiver(tls=cert.server_context()).start()
    monkeypatch.setattr(socket, "getaddrinfo", Rebinding("127.0.0.1"))
    trust = ssl.create_default_context(cafile=str(cert.ca_file))
    trust.load_verify_locations(cafile=str(other.ca_file))  # both CAs: only the name differs
    client = httpx.Client(verify=trust)
    sender = WebhookSender(NotificationsConfig(allow_private_webhook_targets=True), client=client)
    try:
        deliver(sender, f"https://{NAME}:{receiver.port}/hooks/ztix")
        assert [r.headers["Host"] for r in receiver.received] == [f"{NAME}:{receiver.port}"]
        # A certificate for another name is refused: the check is made, for the name.
        receiver.stop()
        receiver.tls = other.server_context()
        receiver.start()
        with pytest.raises(DeliveryFailed, match="CERTIFICATE_VERIFY_FAILED"):
            deliver(sender, f"https://{NAME}:{receiver.port}/hooks/ztix")
    finally:
        sender.close()
        receiver.stop()
    assert len(receiver.received) == 1
