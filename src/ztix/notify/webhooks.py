"""Webhooks: a JSON event POSTed with an HMAC-SHA256 signature.

The receiver checks ``X-ZTIX-Signature: sha256=<hex>``, the HMAC-SHA256 under its secret of
``<X-ZTIX-Timestamp>.<body>`` (the timestamp is signed too, so an old delivery cannot be
replayed as new). Redirects are not followed. Unless
``notifications.allow_private_webhook_targets``, a URL whose host resolves to a private,
loopback, link-local or otherwise non-global address is refused, so a member's webhook
cannot reach into the IX's own network.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import httpx

from ztix.config import NotificationsConfig
from ztix.notify.mail import DeliveryFailed

SIGNATURE_HEADER = "X-ZTIX-Signature"
TIMESTAMP_HEADER = "X-ZTIX-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookSender:
    def __init__(self, config: NotificationsConfig, client: httpx.Client | None = None) -> None:
        self._config = config
        self._client = client or httpx.Client(
            timeout=config.webhook_timeout_seconds, follow_redirects=False
        )

    def close(self) -> None:
        self._client.close()

    def check_target(self, url: str) -> None:
        """Refuse (``ValueError``) a URL that is not http(s) or, unless allowed, whose host
        is or resolves to a non-global address."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the URL must be http:// or https:// with a host")
        if self._config.allow_private_webhook_targets:
            return
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise ValueError(f"the host {parts.hostname} does not resolve") from exc
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not address.is_global:
                raise ValueError(f"the host {parts.hostname} is not on the public Internet")

    def post(self, url: str, secret: str, *, event: str, delivery: str, body: bytes) -> None:
        try:
            self.check_target(url)
        except ValueError as exc:
            raise DeliveryFailed(str(exc)) from exc
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "ZT-IX-Webhook/1",
            "X-ZTIX-Event": event,
            "X-ZTIX-Delivery": delivery,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise DeliveryFailed(f"the receiver answered HTTP {response.status_code}")
