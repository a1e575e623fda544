"""Answering with JSON the handler built itself.

FastAPI validates what a handler returns against its ``response_model`` and then serializes
it; for a synchronous handler that validation is one more hop through the thread pool, and
for a page of a hundred items it builds a hundred models to be thrown away. A page read
straight from columns (the member's list) is built as plain dicts and lists and encoded
once by :func:`json_content` with pydantic's own encoder (``pydantic_core.to_json``), so
datetimes, UUIDs and enums come out exactly as the model would write them. The route keeps
``response_model`` for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic_core import to_json


def json_content(content: Any, status_code: int = 200) -> Response:
    return Response(
        content=to_json(content), status_code=status_code, media_type="application/json"
    )
