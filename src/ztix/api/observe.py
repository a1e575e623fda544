"""Every request's correlation ID and its duration in the metrics: one plain ASGI
middleware. Starlette's ``BaseHTTPMiddleware`` (``@app.middleware("http")``) runs the app in
a task of its own and passes the answer through a memory stream; two of them cost every
request more than the member's whole page costs its handler (issue 17, P4)."""

from __future__ import annotations

import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ztix import context, observability

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Observe:
    """Takes the client's ``X-Request-ID`` when it is a sane one, or makes one; the request's
    log lines and jobs carry it (``ztix.context``) and the answer echoes it. Records the
    request's duration by method, route template and status (``ztix_http_request_duration``):
    500 when the app fails before it answers."""

    def __init__(self, app: ASGIApp, metrics: observability.Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = _header(scope, b"x-request-id")
        cid = given if _REQUEST_ID.fullmatch(given) else context.new_correlation_id()
        header = (b"x-request-id", cid.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = context.correlation_id.set(cid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            context.correlation_id.reset(token)
            template = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.http_duration.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - started
            )


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""
