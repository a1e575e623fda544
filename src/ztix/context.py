"""Per-request context carried into logs, audit events and (later) jobs."""

from __future__ import annotations

import secrets
from contextvars import ContextVar

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def new_correlation_id() -> str:
    return secrets.token_hex(8)
