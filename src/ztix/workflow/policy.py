"""Runs the eligibility and auto-approval policy (rules: :mod:`ztix.domain.policy`).

This module gathers the policy's inputs from the configuration and the database and asks
the pure rules for a verdict. PeeringDB is asked at most once per evaluation, and never
with a transaction open: callers check :func:`peeringdb_wanted`, end their transaction,
call :func:`fetch_peeringdb`, and hand the result to :func:`evaluate` (see
``api/routes/requests.py:create_request`` and ``ztix policy check``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ztix.config import ApprovalMode, Settings
from ztix.db.base import utcnow
from ztix.db.models import IxNetwork, JoinRequest, PeeringDBNetwork, User
from ztix.domain.policy import (
    AsnList,
    AutoApprovalRules,
    Holding,
    NetworkRules,
    OnFailure,
    PeeringDBRequirements,
    PeeringDBSnapshot,
    PeeringDBUnknown,
    PolicyRules,
    Verdict,
)
from ztix.domain.policy import evaluate as decide
from ztix.peeringdb import cache as pdb_cache
from ztix.peeringdb.api import NetRecord, PeeringDBApi, PeeringDBUnavailable

log = logging.getLogger(__name__)

VERDICT_VERSION = 1
DAILY_WINDOW = timedelta(hours=24)
_LIMIT_LOCK_BASE = 0x5A54_4958 << 32  # "ZTIX": advisory lock keys of the daily limit


@dataclass(frozen=True)
class PeeringDBFetch:
    """One PeeringDB lookup made outside any transaction: its records, or why it failed."""

    records: dict[int, NetRecord | None] | None = None
    error: str | None = None
    fetched_at: datetime | None = None


def rules(settings: Settings) -> PolicyRules:
    conf = settings.policy
    pdb = conf.peeringdb
    auto = conf.auto_approval
    return PolicyRules(
        allowed_asns=AsnList(conf.allowed_asns),
        denied_asns=AsnList(conf.denied_asns),
        peeringdb=PeeringDBRequirements(
            require_record=pdb.require_record,
            reject_never_via_route_servers=pdb.reject_never_via_route_servers,
            min_policy_general=pdb.min_policy_general,
            on_failure=OnFailure(pdb.on_failure),
        ),
        auto_approval=AutoApprovalRules(
            required_peeringdb_perms=auto.required_peeringdb_perms,
            allow_local_grants=auto.allow_local_grants,
            max_per_asn_per_day=auto.max_per_asn_per_day,
        ),
    )


def network_rules(settings: Settings, network: IxNetwork) -> NetworkRules:
    """The network's own rules; a network no longer declared has none (it is inactive)."""
    conf = settings.network_config(network.zt_network_id)
    if conf is None:
        return NetworkRules(network.zt_network_id, network.name)
    return NetworkRules(
        network.zt_network_id,
        network.name,
        allowed_asns=AsnList(conf.allowed_asns),
        manual_approval=conf.manual_approval,
    )


def holding(user: User | None, asn: int) -> Holding:
    """How ``user`` holds ``asn``. An admin acting for an ASN they do not hold holds nothing."""
    if user is None:
        return Holding()
    rows = [a for a in user.asns if a.asn == asn]
    perms = [a.peeringdb_perms for a in rows if a.source == "peeringdb"]
    return Holding(
        peeringdb_perms=next((p for p in perms if p is not None), None),
        local_grant=any(a.source == "local" for a in rows),
    )


def peeringdb_wanted(db: Session, settings: Settings, asn: int) -> bool:
    """True when a PeeringDB requirement is on and the ASN's cached record is missing or
    stale: the caller should fetch it (outside its transaction) before evaluating."""
    if not rules(settings).peeringdb.enabled:
        return False
    return bool(pdb_cache.stale_asns(db, [asn], settings.peeringdb_api.cache_ttl_seconds))


def fetch_peeringdb(settings: Settings, asn: int) -> PeeringDBFetch:
    """Ask PeeringDB for one ASN's `net` record. Never raises: a failure is recorded and the
    PeeringDB checks come out ``unknown``. Call it with no transaction open."""
    api = PeeringDBApi(settings.peeringdb_api)
    try:
        return PeeringDBFetch(records=pdb_cache.fetch(api, [asn]), fetched_at=utcnow())
    except PeeringDBUnavailable as exc:
        log.warning("PeeringDB lookup of AS%d failed: %s", asn, exc)
        return PeeringDBFetch(error=str(exc))
    finally:
        api.close()


def _snapshot(
    row: PeeringDBNetwork | NetRecord | None, source: str, at: datetime | None
) -> PeeringDBSnapshot:
    if row is None or (isinstance(row, PeeringDBNetwork) and not row.found):
        return PeeringDBSnapshot(found=False, source=source, fetched_at=at)
    return PeeringDBSnapshot(
        found=True,
        info_never_via_route_servers=row.info_never_via_route_servers,
        policy_general=row.policy_general,
        source=source,
        fetched_at=at,
    )


def peeringdb_facts(
    db: Session, settings: Settings, asn: int, fetched: PeeringDBFetch | None
) -> PeeringDBSnapshot | PeeringDBUnknown | None:
    """What the policy knows of the ASN's PeeringDB record: just fetched, else a fresh
    cached row, else unknown (stale data is not trusted for eligibility). None when no
    PeeringDB requirement is on."""
    if not rules(settings).peeringdb.enabled:
        return None
    if fetched is not None and fetched.records is not None and asn in fetched.records:
        return _snapshot(fetched.records[asn], "peeringdb", fetched.fetched_at)
    row = db.get(PeeringDBNetwork, asn)
    cutoff = utcnow() - timedelta(seconds=settings.peeringdb_api.cache_ttl_seconds)
    if row is not None and row.fetched_at >= cutoff:
        return _snapshot(row, "cache", row.fetched_at)
    if fetched is not None and fetched.error:
        why = fetched.error
    elif row is None:
        why = "nothing cached and PeeringDB was not asked"
    else:
        why = f"the cached record of {row.fetched_at:%Y-%m-%d %H:%M} UTC is stale"
    return PeeringDBUnknown(why)


def auto_approvals_today(db: Session, asn: int, *, serialize: bool = False) -> int:
    """Automatic approvals of ``asn`` in the last 24 hours (they happen at creation, so the
    created_at index bounds the scan). ``serialize`` takes a per-ASN lock on PostgreSQL
    until commit, so concurrent requests cannot both take the last slot (SQLite's writers
    are serialised already)."""
    if serialize and db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LIMIT_LOCK_BASE | asn})
    query = (
        select(func.count())
        .select_from(JoinRequest)
        .where(
            JoinRequest.asn == asn,
            JoinRequest.created_at >= utcnow() - DAILY_WINDOW,
            JoinRequest.approved_by_policy,
        )
    )
    return int(db.scalar(query) or 0)


def evaluate(
    db: Session,
    settings: Settings,
    *,
    asn: int,
    network: IxNetwork,
    holder: Holding,
    fetched: PeeringDBFetch | None = None,
    serialize: bool = False,
) -> Verdict:
    """The verdict on ``asn`` joining ``network`` under the current configuration."""
    policy = rules(settings)
    auto = settings.workflow.approval_mode is ApprovalMode.POLICY_AUTO
    count = 0
    if auto and policy.auto_approval.max_per_asn_per_day is not None:
        count = auto_approvals_today(db, asn, serialize=serialize)
    return decide(
        asn=asn,
        network=network_rules(settings, network),
        rules=policy,
        holding=holder,
        peeringdb=peeringdb_facts(db, settings, asn, fetched),
        auto_approvals_today=count,
        auto_approval=auto,
    )


def as_record(verdict: Verdict) -> dict[str, Any]:
    """The verdict as stored on the request and in the audit trail."""
    return {
        "version": VERDICT_VERSION,
        "evaluated_at": utcnow().isoformat(),
        **verdict.as_dict(),
    }
