"""RFC 9457 problem details for every error, each with a stable ``code`` (ztix.errors)."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from ztix.errors import CODES, AppError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"
_RESERVED = frozenset({"type", "title", "status", "detail", "code", "instance"})


class Problem(BaseModel):
    """An RFC 9457 problem. Extension members (``errors``, ``retry_after``, ...) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None


def problem_response(
    request: Request, code: str, detail: str | None = None, **extra: Any
) -> JSONResponse:
    kind = CODES[code]
    clash = _RESERVED & extra.keys()
    assert not clash, f"problem extensions may not replace {sorted(clash)}"
    body: dict[str, Any] = {
        "type": f"/api/v1/problems/{code}",
        "title": kind.title,
        "status": kind.status,
        "detail": detail or kind.title,
        "code": code,
        "instance": request.url.path,
        **extra,
    }
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return JSONResponse(body, status_code=kind.status, media_type=PROBLEM_JSON, headers=headers)


def responses(*codes: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problem codes a route can answer with: the Problem
    schema under ``application/problem+json``, the media type they are sent with."""
    by_status: dict[int, list[str]] = defaultdict(list)
    for code in (*codes, "validation_failed"):
        by_status[CODES[code].status].append(code)
    return {
        status: {
            # The model registers the Problem schema; install() drops the application/json
            # copy FastAPI makes of it: problems are never sent as that.
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
            "description": "Problem codes: " + ", ".join(f"`{c}`" for c in sorted(set(found))),
        }
        for status, found in sorted(by_status.items())
    }


RETRY_AFTER = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 1},
}


def _finish_document(document: dict[str, Any]) -> None:
    """What route declarations cannot say, said once for the whole OpenAPI document:

    - every problem response is documented under ``application/problem+json`` only;
    - every operation can answer 429 ``rate_limited`` (``deps.limit_by_address``,
      ``deps.current_principal`` and ``deps.csrf_protect`` count every write and every read,
      whatever the route);
    - every 429 sends ``Retry-After``.
    """
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            answers = operation.setdefault("responses", {})
            for response in answers.values():
                content = response.get("content", {})
                if PROBLEM_JSON in content:
                    content.pop("application/json", None)
            given = answers.get("429", {}).get("description", "")
            codes = {*re.findall(r"`(\w+)`", given), "rate_limited"}
            answers["429"] = {
                "description": "Problem codes: " + ", ".join(f"`{c}`" for c in sorted(codes)),
                "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
                "headers": {"Retry-After": RETRY_AFTER},
            }


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(request, exc.code, exc.detail, **exc.extra)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    # A field validator may raise a registered code as its error type (see api.schemas):
    # the first such code names the problem, so "invalid_asn" reads as itself.
    code = next((e["type"] for e in errors if e["type"] in CODES), "validation_failed")
    detail = "; ".join(f"{'.'.join(e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in errors)
    return problem_response(request, code, detail, errors=_json_safe(errors))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        exc.status_code, "validation_failed" if exc.status_code < 500 else "internal_error"
    )
    return problem_response(request, code)


# The database is there but saturated: SQLite's write lock not granted within busy_timeout;
# PostgreSQL out of connection slots, a lock not granted, a statement cancelled on timeout.
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
_PG_BUSY = frozenset({"53300", "55P03", "57014"})


def is_busy(exc: OperationalError) -> bool:
    if str(exc.orig).startswith(_SQLITE_BUSY):
        return True
    return getattr(exc.orig, "sqlstate", None) in _PG_BUSY


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    # OperationalError: the database refused, dropped or timed out the connection (or a
    # statement): a transient condition to retry, not a bug; /readyz names an outage too.
    assert isinstance(exc, OperationalError)
    where = f"{request.method} {request.url.path}"
    if is_busy(exc):
        log.warning("database busy on %s: %s", where, exc.orig)
        return problem_response(request, "database_busy", retry_after=2)
    log.warning("database unavailable on %s: %s", where, exc.orig)
    return problem_response(request, "database_unavailable", retry_after=5)


async def _pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
    # No connection came free within database.pool_timeout_seconds: every one is in use.
    log.warning("database pool exhausted on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(request, "database_busy", retry_after=2)


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, "internal_error", "an internal error occurred; it is logged")


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        document = generate()  # FastAPI's, cached on the app
        if fresh:
            _finish_document(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(PoolTimeout, _pool_exhausted)
    app.add_exception_handler(Exception, _unhandled)
