"""The API-token path of authentication (``Authorization: Bearer ztix_…``), beside the
session cookie's in ``deps.py``: resolve the token, count it against its own limits, and
refuse writes its scope does not allow. No CSRF token is asked for: a browser never sends
an ``Authorization`` header by itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy.orm import Session

from ztix.auth import api_tokens
from ztix.auth.caller import LiveToken
from ztix.auth.ratelimit import RateLimits
from ztix.config import Settings
from ztix.db.session import Database
from ztix.errors import AppError

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def authenticate(
    request: Request,
    db: Session,
    database: Database,
    settings: Settings,
    limits: RateLimits,
    address: str,
    presented: str,
    then: Callable[[LiveToken], None] = lambda token: None,
) -> LiveToken:
    """The token and its owner narrowed to the token (``auth/api_tokens.py``), read by one
    statement whose transaction ends here; a read counts against the token's
    read limit, a refused token's read against the client address (``limit_by_address``
    does not count reads of routes that authenticate)."""
    try:
        token = api_tokens.resolve(
            db, presented, grants_max_age_hours=settings.peeringdb.recheck_max_age_hours
        )
        then(token)  # what else the route reads, in this transaction
    except AppError:
        db.rollback()
        if request.method not in UNSAFE_METHODS:
            limits.read_by_address(address)
        raise
    db.commit()
    if request.method not in UNSAFE_METHODS:
        limits.read_by_token(token.id)
    if api_tokens.use_due(token):
        with database.session() as writer:  # a short write of its own, at most once a minute
            api_tokens.record_use(writer, token.id)
    return token


def check_write(token: LiveToken, limits: RateLimits) -> None:
    """A state-changing call: the token must have the write scope; it counts against the
    token's write limit."""
    if not token.can_write:
        raise AppError("token_scope", "This token may only read; create one with write")
    limits.write_by_token(token.id)


def document(app: FastAPI) -> None:
    """In the OpenAPI document, an operation that takes an API token takes a session cookie
    just as well: its security reads "the ``ApiToken`` scheme, or none that OpenAPI
    describes" (``[{"ApiToken": []}, {}]``), so clients know the bearer is optional."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        spec = generate()
        if fresh:
            for path in spec.get("paths", {}).values():
                for operation in path.values():
                    if isinstance(operation, dict) and operation.get("security") == [
                        {"ApiToken": []}
                    ]:
                        operation["security"] = [{"ApiToken": []}, {}]
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
