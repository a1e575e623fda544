"""Webhooks: a JSON event POSTed with an HMAC-SHA256 signature.

The receiver checks ``X-ZTIX-Signature: sha256=<hex>``, the HMAC-SHA256 under its secret of
``<X-ZTIX-Timestamp>.<body>`` (the timestamp is signed too, so an old delivery cannot be
replayed as new). Redirects are not followed. Unless
``notifications.allow_private_webhook_targets``, a URL whose host resolves to a private,
loopback, link-local or otherwise non-global address is refused, so a member's webhook
cannot reach into the IX's own network.

The host is resolved once per delivery, every address is checked, and the connection goes
to a checked address (the next one when it cannot be reached), with the name kept in the
Host header and, for https, in TLS SNI and certificate verification. No second lookup
means no DNS-rebinding window between the check and the connection.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from ztix.config import NotificationsConfig
from ztix.notify.mail import DeliveryFailed

SIGNATURE_HEADER = "X-ZTIX-Signature"
TIMESTAMP_HEADER = "X-ZTIX-Timestamp"


# host, port -> the host's addresses, in the order to try them
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookSender:
    def __init__(
        self,
        config: NotificationsConfig,
        client: httpx.Client | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._config = config
        self._resolve = resolver
        # No proxy from the environment: the address check holds only when this process
        # makes the connection to the address it checked.
        self._client = client or httpx.Client(
            timeout=config.webhook_timeout_seconds, follow_redirects=False, trust_env=False
        )

    def close(self) -> None:
        self._client.close()

    def check_target(self, url: str) -> list[str]:
        """The addresses to connect to for ``url``, resolved once and each checked; refuses
        (``ValueError``) a URL that is not http(s) or, unless allowed, whose host is or
        resolves to a non-global address."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the URL must be http:// or https:// with a host")
        host = parts.hostname
        if _literal(host):
            addresses = [host]
        else:
            try:
                port = parts.port or (443 if parts.scheme == "https" else 80)
                addresses = self._resolve(host, port)
            except (OSError, ValueError) as exc:
                raise ValueError(f"the host {host} does not resolve") from exc
            if not addresses:
                raise ValueError(f"the host {host} does not resolve")
        if not self._config.allow_private_webhook_targets:
            for address in addresses:
                if not ipaddress.ip_address(address).is_global:
                    raise ValueError(f"the host {host} is not on the public Internet")
        return addresses

    def post(self, url: str, secret: str, *, event: str, delivery: str, body: bytes) -> None:
        try:
            addresses = self.check_target(url)
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
        named = httpx.URL(url)
        if not _literal(named.host):
            # To the checked address; the name stays in Host, SNI and the certificate check.
            headers["Host"] = named.netloc.decode("ascii")
        extensions = {"sni_hostname": named.raw_host.decode("ascii")}
        response: httpx.Response | None = None
        failure = "no address to connect to"
        for address in addresses:
            try:
                response = self._client.post(
                    named.copy_with(host=address),
                    content=body,
                    headers=headers,
                    extensions=extensions,
                )
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # try the next one
                failure = f"{type(exc).__name__} ({address}): {exc}"
            except httpx.HTTPError as exc:
                raise DeliveryFailed(f"{type(exc).__name__} ({address}): {exc}") from exc
        if response is None:
            raise DeliveryFailed(failure)
        if not response.is_success:
            raise DeliveryFailed(f"the receiver answered HTTP {response.status_code}")
