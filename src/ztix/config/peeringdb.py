"""PeeringDB's REST API."""

from __future__ import annotations

from pydantic import Field, SecretStr

from ztix.config.base import Strict


class PeeringDBApiConfig(Strict):
    """PeeringDB's REST API (max-prefix hints, AS-SETs, never-via-route-servers)."""

    base_url: str = "https://www.peeringdb.com/api"
    # ZTIX_PEERINGDB_API__API_KEY (or ..._API_KEY_FILE); anonymous when empty.
    api_key: SecretStr = SecretStr("")
    cache_ttl_seconds: int = Field(86400, ge=60)
    batch_size: int = Field(100, ge=1, le=500)
    timeout_seconds: float = Field(15, gt=0)
