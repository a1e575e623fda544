"""The HTTP server, its database pool, logging and the public IX-F export."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from ztix.config.base import Strict


class ServerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # Client addresses are taken from X-Forwarded-For only when the direct peer is one of these.
    trusted_proxies: tuple[str, ...] = ()
    # Larger request bodies are refused with 413 payload_too_large (the API takes small JSON).
    max_body_bytes: int = Field(1_048_576, ge=1024)
    # /metrics answers loopback clients; with a token, also `Authorization: Bearer <token>`
    # from anywhere. ZTIX_SERVER__METRICS_TOKEN (or ..._FILE).
    metrics_token: SecretStr = SecretStr("")
    # Threads per HTTP worker process that run handlers and dependencies. A request holds a
    # database connection only while on one of them, so the pool is sized from this
    # (Settings.database_pool_size); requests beyond it wait without a thread or connection.
    threads: int = Field(16, ge=1, le=256)
    # Members' list pages each HTTP worker keeps, with the version of the rows they were
    # written from, read again on every request (PostgreSQL; api/page_cache.py). 0: none.
    page_cache_mb: float = Field(8, ge=0, le=1024)


class DatabaseConfig(Strict):
    """The API process's connection pool: ``server.threads`` + the in-process job threads +
    2 (reconciler, readiness) connections, plus ``max_overflow`` beyond that."""

    max_overflow: int = Field(4, ge=0, le=1000)
    # A request that finds no free connection this long answers 503 `database_busy`.
    pool_timeout_seconds: float = Field(5, gt=0, le=60)


class LoggingConfig(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # json: one JSON object per line (for log shippers). text: human lines. auto: text when
    # standard error is a terminal and the environment is not production, JSON otherwise.
    format: Literal["auto", "json", "text"] = "auto"


class IxfConfig(Strict):
    """The IX-F Member Export (``GET /participants.json``, IX-F JSON schema 1.0): public,
    so it carries only what the IX publishes anyway, never personal data."""

    enabled: bool = True
    # The IX's ID in the IX-F database (https://ixpdb.euro-ix.net); 0 until registered.
    ixf_id: int = Field(0, ge=0)
    # The IX's own persistent number for itself, referenced by every member connection.
    ixp_id: int = Field(1, ge=0)
    shortname: str = Field("ZT-IX", min_length=1, max_length=100)
    name: str = Field("ZT-IX virtual Internet Exchange", min_length=1, max_length=200)
    url: str | None = Field(None, pattern=r"^https?://\S+$")
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")  # ISO 3166-1 alpha-2
    peeringdb_id: int | None = Field(None, ge=1)  # the N of https://www.peeringdb.com/ix/N
    # Cache-Control max-age of the export; collectors poll it, it changes slowly.
    cache_seconds: int = Field(300, ge=0, le=86400)
