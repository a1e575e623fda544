"""Defences every response and request gets: security headers and a request body limit.

A pure ASGI middleware, so that it also bounds bodies sent without a Content-Length
(chunked): the body is counted as it is received and the request answered 413 past the
limit.
"""

from __future__ import annotations

import ipaddress
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ztix.config import Settings

# API answers are data, never a document to render or frame. The web app's pages set their
# own, fuller policy (api/spa.py), which this does not override.
API_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-frame-options": b"DENY",
    b"content-security-policy": b"default-src 'none'; frame-ancestors 'none'",
}
HSTS = b"max-age=63072000; includeSubDomains"


class Hardening:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limit = settings.server.max_body_bytes
        self.trusted = [
            ipaddress.ip_network(n, strict=False) for n in settings.server.trusted_proxies
        ]

    def _https(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        client = scope.get("client")
        try:
            peer = ipaddress.ip_address(client[0]) if client else None
        except ValueError:
            peer = None
        if peer is None or not any(peer in n for n in self.trusted):
            return False
        headers = dict(scope.get("headers") or [])
        return bool(headers.get(b"x-forwarded-proto", b"").split(b",")[-1].strip() == b"https")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send)
            return
        https = self._https(scope)
        received = 0
        too_large = False

        refused = False

        async def counted_receive() -> Message:
            # Past the limit the app is told the client went away, so no handler ever runs
            # on part of a body; whatever it answers is replaced by the 413 below.
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal refused
            if too_large:
                if message["type"] == "http.response.start" and not refused:
                    refused = True
                    await self._refuse(scope, send)
                return  # the app's own answer is dropped
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in API_HEADERS.items() if k not in present]
                if https:
                    extra.append((b"strict-transport-security", HSTS))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, counted_receive, send_with_headers)
        finally:
            if too_large and not refused:
                refused = True
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = json.dumps(
            {
                "type": "/api/v1/problems/payload_too_large",
                "title": "The request body is too large",
                "status": 413,
                "detail": f"request bodies are limited to {self.limit} bytes",
                "code": "payload_too_large",
                "instance": scope.get("path", ""),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    *API_HEADERS.items(),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
