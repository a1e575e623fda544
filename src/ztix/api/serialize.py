"""Answering with JSON the handler did not build as models.

FastAPI validates what a handler returns against its ``response_model`` and then serializes
it; for a page of a hundred items that is a hundred models built to be thrown away, and
for a synchronous handler one more hop through the thread pool. A page whose items the
database wrote as JSON text (a member's list: ``db/json_text.py``) is joined into
``Page``'s JSON here, as the model would write it; the route keeps ``response_model`` for
the OpenAPI document."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Response


def json_page(items: Sequence[str], *, total: int, limit: int, offset: int) -> bytes:
    """``Page``'s JSON (``api/schemas/common.Page``: items, total, limit, offset) around
    items that are JSON text already."""
    body = f'{{"items":[{",".join(items)}],"total":{total},"limit":{limit},"offset":{offset}}}'
    return body.encode()


def json_response(body: bytes) -> Response:
    return Response(content=body, media_type="application/json")
