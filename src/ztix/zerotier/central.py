"""ZeroTier Central (``api.zerotier.com``) as a :class:`ZeroTierProvider` (DESIGN §4).

``Authorization: token <t>``; member settings live in a ``config`` wrapper and the name at the
top level. Central is rate limited (20 requests/s free, 100/s paid): a 429 becomes
:class:`ProviderRateLimited` carrying the wait from ``Retry-After`` or ``X-RateLimit-Reset``,
and the job system retries after it. Other statuses: 401/403 auth failed, 404 not found,
other 4xx rejected, 5xx (500 included: it is Central's own failure) unavailable. Bodies are
strictly typed and every write is read back, as with the self-hosted controller. The token
is never logged.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ztix.config import CentralConfig
from ztix.zerotier.members import (
    MemberSync,
    check_ids,
    excerpt,
    exchange,
    member_from_config,
    read_json,
    retry_after_seconds,
)
from ztix.zerotier.provider import (
    SYSTEM_CENTRAL,
    Member,
    ProviderAuthFailed,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)

log = logging.getLogger(__name__)

CENTRAL_URL = "https://api.zerotier.com/api/v1"


class CentralSettings(BaseModel):
    """How to reach ZeroTier Central (``url`` is overridable so tests can use a fake)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = CENTRAL_URL
    token: SecretStr
    timeout_seconds: float = Field(10.0, gt=0)

    @classmethod
    def from_config(cls, conf: CentralConfig) -> CentralSettings:
        return cls(url=conf.url, token=conf.token, timeout_seconds=conf.timeout_seconds)


class CentralProvider(MemberSync):
    """Members of IX networks hosted on ZeroTier Central."""

    system = SYSTEM_CENTRAL

    def __init__(
        self, settings: CentralSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._settings = settings
        self._client = httpx.Client(
            base_url=settings.url.rstrip("/"),
            timeout=settings.timeout_seconds,
            transport=transport,
            headers={
                "Authorization": f"token {settings.token.get_secret_value()}",
                "Accept": "application/json",
            },
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> CentralProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- HTTP ----------------------------------------------------------------------------

    def _send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        what = f"{method} {path}"
        response = exchange(
            "central",
            self.system,
            self._settings.timeout_seconds,
            method,
            path,
            lambda: self._client.request(method, path, json=body),
        )
        if response.status_code < 300 or response.status_code == 404:
            return response
        message = f"{what}: HTTP {response.status_code} {excerpt(response)}".rstrip()
        status = response.status_code
        if status in (401, 403):
            raise ProviderAuthFailed(message, system=self.system)
        if status == 429:
            retry_after = retry_after_seconds(response.headers)
            raise ProviderRateLimited(message, system=self.system, retry_after=retry_after)
        if status >= 500:
            raise ProviderUnavailable(message, system=self.system)
        raise ProviderRejected(message, system=self.system)

    def _get_or_none(self, path: str) -> Any | None:
        response = self._send("GET", path)
        if response.status_code == 404:
            return None
        return read_json(response, f"GET {path}", self.system)

    def _network_missing(self, network_id: str) -> ProviderNotFound:
        return ProviderNotFound(f"network {network_id} does not exist", system=self.system)

    def _require_network(self, network_id: str) -> None:
        if self._get_or_none(f"/network/{network_id}") is None:
            raise self._network_missing(network_id)

    @staticmethod
    def _member_path(network_id: str, node_id: str) -> str:
        return f"/network/{network_id}/member/{node_id}"

    def _post_member(self, network_id: str, node_id: str, body: dict[str, Any]) -> None:
        response = self._send("POST", self._member_path(network_id, node_id), body)
        if response.status_code == 404:
            raise self._network_missing(network_id)

    # -- the provider protocol -----------------------------------------------------------------

    def _member_body(self, config: dict[str, Any], name: str) -> dict[str, Any]:
        return {"config": config, "name": name} if name else {"config": config}

    def get_member(self, network_id: str, node_id: str) -> Member | None:
        check_ids(self.system, network_id, node_id)
        data = self._get_or_none(self._member_path(network_id, node_id))
        if data is None:
            self._require_network(network_id)
            return None
        if not isinstance(data, dict):
            raise ProviderRejected(f"member {node_id}: answer is not an object", system=self.system)
        return member_from_config(
            network_id, node_id, data.get("config"), data.get("name"), self.system
        )

    def list_members(self, network_id: str) -> dict[str, int]:
        check_ids(self.system, network_id)
        data = self._get_or_none(f"/network/{network_id}/member")
        if data is None:
            raise self._network_missing(network_id)
        if not isinstance(data, list):
            raise ProviderRejected("member list: answer is not a list", system=self.system)
        out: dict[str, int] = {}
        for item in data:
            config = item.get("config") if isinstance(item, dict) else None
            node_id = item.get("nodeId") if isinstance(item, dict) else None
            if not isinstance(config, dict) or not isinstance(node_id, str):
                raise ProviderRejected("member list: unexpected entry", system=self.system)
            revision = config.get("revision", 0)
            out[node_id.lower()] = revision if isinstance(revision, int) else 0
        return out

    def delete_member(self, network_id: str, node_id: str) -> None:
        check_ids(self.system, network_id, node_id)
        self._send("DELETE", self._member_path(network_id, node_id))  # 404: already gone
        # Central may keep showing a deleted member for a while; what matters is that it no
        # longer has access. get_member also raises when the network itself is gone.
        member = self.get_member(network_id, node_id)
        if member is not None and member.authorized:
            raise ProviderRejected(
                f"readback_mismatch: member {node_id} still authorized after delete",
                system=self.system,
            )
