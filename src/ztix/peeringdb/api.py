"""A small client of PeeringDB's REST API for `net` objects, in `asn__in` batches.

Rate limits (DESIGN §4): 20/min anonymous, 40/min with an API key. A 429 is raised as
:class:`PeeringDBRateLimited` with the server's Retry-After, never retried in a loop here:
the cache backs off and the configured defaults apply meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import httpx

from ztix import observability
from ztix.config import PeeringDBApiConfig

log = logging.getLogger(__name__)


class PeeringDBUnavailable(Exception):
    """PeeringDB could not answer (network, 5xx, bad JSON)."""


class PeeringDBRateLimited(PeeringDBUnavailable):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"PeeringDB rate limit; retry after {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class NetRecord:
    asn: int
    name: str
    info_prefixes4: int | None
    info_prefixes6: int | None
    irr_as_set: str
    info_never_via_route_servers: bool
    policy_general: str


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _text(value: object, limit: int = 255) -> str:
    return value[:limit] if isinstance(value, str) else ""


def parse_net(item: dict[str, object]) -> NetRecord | None:
    asn = item.get("asn")
    if not isinstance(asn, int) or isinstance(asn, bool):
        return None
    return NetRecord(
        asn=asn,
        name=_text(item.get("name")),
        info_prefixes4=_int_or_none(item.get("info_prefixes4")),
        info_prefixes6=_int_or_none(item.get("info_prefixes6")),
        irr_as_set=_text(item.get("irr_as_set")),
        info_never_via_route_servers=item.get("info_never_via_route_servers") is True,
        policy_general=_text(item.get("policy_general"), 32),
    )


def batches(asns: Iterable[int], size: int) -> Iterator[list[int]]:
    ordered = sorted(set(asns))
    for i in range(0, len(ordered), size):
        yield ordered[i : i + size]


class PeeringDBApi:
    def __init__(
        self, config: PeeringDBApiConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._config = config
        headers = {"Accept": "application/json", "User-Agent": "ztix"}
        key = config.api_key.get_secret_value()
        if key:
            headers["Authorization"] = f"Api-Key {key}"
        self._client = httpx.Client(
            base_url=config.base_url.rstrip("/"),
            headers=headers,
            timeout=config.timeout_seconds,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def fetch(self, asns: Iterable[int]) -> dict[int, NetRecord | None]:
        """Every ASN asked for: its record, or None when PeeringDB has no net for it."""
        found: dict[int, NetRecord | None] = {}
        for batch in batches(asns, self._config.batch_size):
            found.update(dict.fromkeys(batch))
            for record in self._fetch_batch(batch):
                if record.asn in found:
                    found[record.asn] = record
        return found

    def _get_data(self, params: dict[str, str], obj: str = "net") -> list[object]:
        """GET /<obj> with ``params``: the ``data`` list, or a PeeringDB error."""
        try:
            response = observability.peeringdb_fetch(
                obj, lambda: self._client.get(f"/{obj}", params=params)
            )
        except httpx.HTTPError as exc:
            raise PeeringDBUnavailable(f"PeeringDB unreachable: {type(exc).__name__}") from exc
        if response.status_code == 429:
            retry = response.headers.get("Retry-After", "60")
            raise PeeringDBRateLimited(float(retry) if retry.isdigit() else 60.0)
        if response.status_code != 200:
            raise PeeringDBUnavailable(f"PeeringDB answered HTTP {response.status_code}")
        try:
            data = response.json()["data"]
        except (ValueError, KeyError, TypeError) as exc:
            raise PeeringDBUnavailable("PeeringDB answered something that is not its JSON") from exc
        if not isinstance(data, list):
            raise PeeringDBUnavailable("PeeringDB's data is not a list")
        return data

    def _fetch_batch(self, batch: list[int]) -> list[NetRecord]:
        data = self._get_data({"asn__in": ",".join(str(a) for a in batch), "depth": "0"})
        return [r for r in (parse_net(i) for i in data if isinstance(i, dict)) if r is not None]

    def never_via_route_servers(self) -> list[int]:
        """Every ASN whose PeeringDB record says it must never be seen via route servers."""
        data = self._get_data({"info_never_via_route_servers": "1", "fields": "asn"})
        return sorted(
            {i["asn"] for i in data if isinstance(i, dict) and isinstance(i.get("asn"), int)}
        )
