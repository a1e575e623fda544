"""PeeringDB data cached in the database with a TTL, and the max-prefix rule built on it.

A PeeringDB outage never blocks provisioning: lookups answer from whatever is cached
(even stale), and with nothing cached the configured defaults apply; the caller records
which source it used.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from threading import Lock

from sqlalchemy import select
from sqlalchemy.orm import Session

from ztix.config import RouteServerPolicyConfig
from ztix.db.base import utcnow
from ztix.db.models import PeeringDBNetwork
from ztix.peeringdb.api import NetRecord, PeeringDBApi, PeeringDBRateLimited

_backoff_lock = Lock()
_backoff_until = 0.0  # monotonic time before which PeeringDB is not asked again (429)


def stale_asns(db: Session, asns: Iterable[int], ttl_seconds: int) -> list[int]:
    """ASNs whose cached record is missing or older than the TTL."""
    wanted = set(asns)
    if not wanted:
        return []
    cutoff = utcnow() - timedelta(seconds=ttl_seconds)
    fresh = set(
        db.scalars(
            select(PeeringDBNetwork.asn).where(
                PeeringDBNetwork.asn.in_(sorted(wanted)), PeeringDBNetwork.fetched_at >= cutoff
            )
        )
    )
    return sorted(wanted - fresh)


def fetch(api: PeeringDBApi, asns: Iterable[int]) -> dict[int, NetRecord | None]:
    """Ask PeeringDB (no transaction should be open), unless a recent 429 says wait.

    Raises :class:`PeeringDBUnavailable` (or its rate-limit subclass) when it cannot.
    """
    global _backoff_until
    with _backoff_lock:
        wait = _backoff_until - time.monotonic()
    if wait > 0:
        raise PeeringDBRateLimited(wait)
    try:
        return api.fetch(asns)
    except PeeringDBRateLimited as exc:
        with _backoff_lock:
            _backoff_until = time.monotonic() + exc.retry_after
        raise


def store(db: Session, records: dict[int, NetRecord | None]) -> None:
    now = utcnow()
    for asn, record in records.items():
        row = db.get(PeeringDBNetwork, asn) or PeeringDBNetwork(asn=asn)
        row.found = record is not None
        row.fetched_at = now
        if record is not None:
            row.name = record.name
            row.info_prefixes4 = record.info_prefixes4
            row.info_prefixes6 = record.info_prefixes6
            row.irr_as_set = record.irr_as_set
            row.info_never_via_route_servers = record.info_never_via_route_servers
            row.policy_general = record.policy_general
        db.add(row)
    db.flush()


def reset_backoff() -> None:
    global _backoff_until
    with _backoff_lock:
        _backoff_until = 0.0


@dataclass(frozen=True)
class MaxPrefix:
    ipv4: int
    ipv6: int
    source: str


def max_prefix(
    record: PeeringDBNetwork | None,
    policy: RouteServerPolicyConfig,
    *,
    override_ipv4: int | None = None,
    override_ipv6: int | None = None,
    peeringdb_failed: bool = False,
) -> MaxPrefix:
    """Admin override → PeeringDB's hint with headroom → the configured default."""
    if override_ipv4 is not None and override_ipv6 is not None:
        return MaxPrefix(override_ipv4, override_ipv6, "override")
    headroom = 1 + policy.max_prefix_headroom_percent / 100

    def pick(override: int | None, hint: int | None, default: int) -> tuple[int, str]:
        if override is not None:
            return override, "override"
        if hint:
            return max(1, math.ceil(hint * headroom)), "peeringdb"
        return default, "default"

    v4, s4 = pick(
        override_ipv4,
        record.info_prefixes4 if record and record.found else None,
        policy.default_max_prefix_ipv4,
    )
    v6, s6 = pick(
        override_ipv6,
        record.info_prefixes6 if record and record.found else None,
        policy.default_max_prefix_ipv6,
    )
    source = s4 if s4 == s6 else f"{s4}/{s6}"
    if "default" in source:
        why = (
            "peeringdb unavailable" if peeringdb_failed and record is None else "no peeringdb data"
        )
        source = f"{source} ({why})"
    return MaxPrefix(v4, v6, source)


def receive_limit(
    record: PeeringDBNetwork | None,
    policy: RouteServerPolicyConfig,
    import_limits: MaxPrefix,
    *,
    override_ipv4: int | None = None,
    override_ipv6: int | None = None,
) -> MaxPrefix:
    """The receive limit (before filtering): admin override → PeeringDB's hint with the
    receive headroom → the configured default; never below the import limit (a member
    must be able to send every route it may have accepted)."""
    headroom = 1 + policy.receive_limit_headroom_percent / 100

    def pick(override: int | None, hint: int | None, default: int, floor: int) -> tuple[int, str]:
        if override is not None:
            return max(override, floor), "override"
        if hint:
            return max(floor, math.ceil(hint * headroom)), "peeringdb"
        return max(floor, default), "default"

    found = record is not None and record.found
    v4, s4 = pick(
        override_ipv4,
        record.info_prefixes4 if record and found else None,
        policy.default_receive_limit_ipv4,
        import_limits.ipv4,
    )
    v6, s6 = pick(
        override_ipv6,
        record.info_prefixes6 if record and found else None,
        policy.default_receive_limit_ipv6,
        import_limits.ipv6,
    )
    return MaxPrefix(v4, v6, s4 if s4 == s6 else f"{s4}/{s6}")


def store_never_via_route_servers(db: Session, flagged_asns: Iterable[int]) -> None:
    """Record PeeringDB's whole never-via-route-servers list.

    ASNs not otherwise cached get a placeholder row marked stale (fetched at the epoch), so
    a member among them is still fetched in full when its limits are needed.
    """
    flagged = set(flagged_asns)
    epoch = utcnow().replace(year=1970, month=1, day=1)
    for row in db.scalars(select(PeeringDBNetwork)):
        row.info_never_via_route_servers = row.asn in flagged
        flagged.discard(row.asn)
    for asn in flagged:
        db.add(
            PeeringDBNetwork(
                asn=asn, found=True, info_never_via_route_servers=True, fetched_at=epoch
            )
        )
    db.flush()


def never_via_route_servers(db: Session) -> list[int]:
    return sorted(
        db.scalars(
            select(PeeringDBNetwork.asn).where(PeeringDBNetwork.info_never_via_route_servers)
        )
    )
