"""Answering with a model already built and validated by the handler.

FastAPI validates what a handler returns against its ``response_model`` and then serializes
it; for a synchronous handler that validation is one more hop through the thread pool. A
list page builds its models itself (``JoinRequestOut.of``, which validates them), so the
second validation buys nothing: :func:`json_response` serializes the model once, in the
handler's thread, with pydantic's own JSON encoder (the same bytes FastAPI would send). The
route keeps ``response_model`` for the OpenAPI document."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(
        content=model.__pydantic_serializer__.to_json(model, by_alias=True),
        status_code=status_code,
        media_type="application/json",
    )
