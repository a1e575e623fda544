"""IRR data of the route servers' members: refresh, store the last good, record failures.

A refresh reads what to expand in one short transaction (each member ASN's admin override,
PeeringDB ``irr_as_set``, max-prefix limits), expands the AS-SETs with no transaction open
(bgpq4, in parallel), then stores the results in a second short transaction. A failed,
empty or oversized expansion changes only the attempt columns: the route servers keep the
last good data. Only when some member's data changed are the route servers asked to sync
(through the usual folded sync path): their rendered files then differ for those members
alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ztix.config import Settings
from ztix.db.base import utcnow
from ztix.db.models import IrrData, JoinRequest, PeeringDBNetwork
from ztix.db.session import Database
from ztix.domain.irr import IrrObject, IrrSelection, parse_irr_as_set, select_irr_objects
from ztix.errors import AppError
from ztix.irr.bgpq4 import Bgpq4, Expansion, IrrExpansionError
from ztix.peeringdb.cache import max_prefix
from ztix.workflow import audit, dispatch
from ztix.workflow.routeserver_desired import CLIENT_STATUSES, enabled_servers
from ztix.workflow.routeservers import request_sync

log = logging.getLogger(__name__)


class IrrExpander(Protocol):
    def expand(self, objects: Sequence[IrrObject]) -> Expansion: ...

    def serials(self) -> str | None:
        """A fingerprint of the IRR's content (its sources' serials), None if unknown."""
        ...


def expander_for(settings: Settings) -> IrrExpander:
    policy = settings.routeservers.policy
    return Bgpq4(
        settings.irr,
        ipv4_max_length=policy.ipv4_max_length,
        ipv6_max_length=policy.ipv6_max_length,
    )


@dataclass(frozen=True)
class Target:
    asn: int
    selection: IrrSelection
    cap_ipv4: int
    cap_ipv6: int
    # The stored data's AS-SET and serials, to skip a member whose data cannot have changed.
    stored_as_set: str | None = None
    stored_serials: str | None = None


@dataclass
class RefreshReport:
    checked: int = 0
    changed: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # asn -> error code
    skipped: int = 0  # unchanged IRR serials and AS-SET: not expanded again


def member_asns(db: Session) -> list[int]:
    """ASNs with a route-server client (authorized and provisioning, or active)."""
    return sorted(
        set(
            db.scalars(
                select(JoinRequest.asn).where(
                    JoinRequest.status.in_(CLIENT_STATUSES), JoinRequest.zt_authorized.is_(True)
                )
            )
        )
    )


def targets(db: Session, settings: Settings, asns: Iterable[int] | None = None) -> list[Target]:
    """What to expand for each member ASN (all route-server clients, or ``asns``)."""
    wanted = sorted(set(asns)) if asns is not None else member_asns(db)
    if not wanted:
        return []
    records = {
        r.asn: r
        for r in db.scalars(select(PeeringDBNetwork).where(PeeringDBNetwork.asn.in_(wanted)))
    }
    rows = {r.asn: r for r in db.scalars(select(IrrData).where(IrrData.asn.in_(wanted)))}
    conf = settings.irr
    out = []
    for asn in wanted:
        record = records.get(asn)
        limits = max_prefix(record, settings.routeservers.policy)
        selection = select_irr_objects(
            asn,
            override=rows[asn].as_set_override if asn in rows else None,
            peeringdb=record.irr_as_set if record is not None and record.found else None,
        )
        out.append(
            Target(
                asn,
                selection,
                cap_ipv4=max(conf.size_cap_floor_ipv4, conf.size_cap_factor * limits.ipv4),
                cap_ipv6=max(conf.size_cap_floor_ipv6, conf.size_cap_factor * limits.ipv6),
                **_stored(rows.get(asn)),
            )
        )
    return out


def _stored(row: IrrData | None) -> dict[str, str | None]:
    """What a skip compares with: only good, current data (no error since) qualifies."""
    if row is None or row.prefixes_ipv4 is None or row.last_error_code is not None:
        return {}
    return {"stored_as_set": row.as_set, "stored_serials": row.serials}


def unchanged(target: Target, serials: str | None, configured: Sequence[str]) -> bool:
    """True when the member's data cannot have changed since it was stored: same AS-SET,
    same serials of every configured source (an entry's own SOURCE:: must be among them)."""
    if serials is None or target.stored_serials != serials:
        return False
    if target.stored_as_set != target.selection.text:
        return False
    return all(o.source is None or o.source in configured for o in target.selection.objects)


def _expand(expander: IrrExpander, target: Target) -> Expansion | IrrExpansionError:
    try:
        got = expander.expand(target.selection.objects)
    except IrrExpansionError as exc:
        return exc
    except Exception as exc:  # a bug or an OS error must not stop the other members
        log.exception("IRR expansion of AS%s failed unexpectedly", target.asn)
        return IrrExpansionError("irr_internal", f"{type(exc).__name__}: {exc}")
    if len(got.prefixes_ipv4) > target.cap_ipv4 or len(got.prefixes_ipv6) > target.cap_ipv6:
        return IrrExpansionError(
            "irr_too_large",
            f"{target.selection.text} expands to {len(got.prefixes_ipv4)} IPv4 and "
            f"{len(got.prefixes_ipv6)} IPv6 prefixes, over this member's cap "
            f"({target.cap_ipv4}/{target.cap_ipv6}): not used",
        )
    return got


def data_hash(got: Expansion) -> str:
    body = json.dumps(
        [
            [str(n) for n in got.prefixes_ipv4],
            [str(n) for n in got.prefixes_ipv6],
            list(got.origins),
        ]
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _store(
    db: Session,
    target: Target,
    result: Expansion | IrrExpansionError | None,
    now: datetime,
    serials: str | None,
) -> bool:
    """Record one member's result (None: unchanged, not expanded); True when its filter
    data changed."""
    row = db.get(IrrData, target.asn)
    if row is None:
        row = IrrData(asn=target.asn, failures_total=0)
        db.add(row)
    row.last_attempt_at = now
    if result is None:
        row.fetched_at = now  # confirmed current
        return False
    if isinstance(result, IrrExpansionError):
        row.last_error_code = result.code
        row.last_error = result.detail
        row.failures_total = (row.failures_total or 0) + 1
        return False
    row.last_error_code = None
    row.last_error = None
    row.as_set = target.selection.text
    row.as_set_choice = target.selection.choice.value
    row.fetched_at = now
    row.serials = serials
    digest = data_hash(result)
    if digest == row.data_hash:
        return False
    row.prefixes_ipv4 = [str(n) for n in result.prefixes_ipv4]
    row.prefixes_ipv6 = [str(n) for n in result.prefixes_ipv6]
    row.origins = list(result.origins)
    row.data_hash = digest
    row.changed_at = now
    return True


def refresh(
    database: Database,
    settings: Settings,
    expander: IrrExpander | None = None,
    asns: Iterable[int] | None = None,
    *,
    force: bool = False,
) -> RefreshReport:
    """Expand the members' AS-SETs and store what changed; see the module docstring.

    Unless ``force``, a member whose AS-SET and IRR serials are those of its stored data is
    not expanded again (``report.skipped``): the IRR cannot have changed under it."""
    report = RefreshReport()
    if not settings.irr.enabled:
        return report
    expander = expander or expander_for(settings)
    with database.read_session() as db:
        todo = targets(db, settings, asns)
    if not todo:
        return report
    serials = expander.serials()  # before expanding: a change during it shows next time
    configured = [s.upper() for s in settings.irr.sources]
    skip = [not force and unchanged(t, serials, configured) for t in todo]
    expand = [t for t, s in zip(todo, skip, strict=True) if not s]
    with ThreadPoolExecutor(settings.irr.concurrency, thread_name_prefix="ztix-irr") as pool:
        expanded = iter(list(pool.map(lambda t: _expand(expander, t), expand)))
    results = [None if s else next(expanded) for s in skip]
    report.skipped = sum(skip)
    now = utcnow()
    with database.session() as db:
        confirmed = [t.asn for t, r in zip(todo, results, strict=True) if r is None]
        for chunk in range(0, len(confirmed), 500):  # one statement per 500 unchanged members
            db.execute(
                update(IrrData)
                .where(IrrData.asn.in_(confirmed[chunk : chunk + 500]))
                .values(last_attempt_at=now, fetched_at=now)
                .execution_options(synchronize_session=False)
            )
        # The rest's rows in one query, not one per member.
        rest = [t.asn for t, r in zip(todo, results, strict=True) if r is not None]
        for chunk in range(0, len(rest), 500):
            list(db.scalars(select(IrrData).where(IrrData.asn.in_(rest[chunk : chunk + 500]))))
        for target, result in zip(todo, results, strict=True):
            if result is not None and _store(db, target, result, now, serials):
                report.changed.append(target.asn)
            if isinstance(result, IrrExpansionError):
                report.failed[target.asn] = result.code
                log.warning(
                    "IRR: AS%s (%s) not refreshed, last good data kept: %s (%s)",
                    target.asn,
                    target.selection.text,
                    result.detail,
                    result.code,
                )
        if report.changed:
            request_sync(db, [rs.name for rs in enabled_servers(settings)])
            dispatch.route_servers_after_commit(db)
    report.checked = len(todo)
    log.info(
        "IRR refresh: %d members, %d changed, %d failed, %d unchanged at the IRR",
        report.checked,
        len(report.changed),
        len(report.failed),
        report.skipped,
    )
    return report


# --- the admin override ------------------------------------------------------------------


def set_override(db: Session, asn: int, text: str | None, actor: audit.Actor) -> IrrData:
    """Set (or with None/empty, clear) the admin's AS-SET for ``asn``; refuses text with
    no valid entry or with junk, so an override never half-applies. Takes effect at the
    next refresh of that member."""
    value: str | None = None
    if text is not None and text.strip():
        objects, ignored = parse_irr_as_set(text)
        if not objects or ignored:
            raise AppError(
                "irr_as_set_invalid",
                f"not a list of AS-SET names or ASNs: {', '.join(ignored) or text!r}",
            )
        value = " ".join(str(o) for o in objects)
    row = db.get(IrrData, asn)
    if row is None:
        row = IrrData(asn=asn, failures_total=0)
        db.add(row)
    before = row.as_set_override
    row.as_set_override = value
    audit.record(
        db,
        actor,
        "irr.override",
        target_type="asn",
        target_id=asn,
        details={"from": before, "to": value},
    )
    return row


def describe(asn: int, row: IrrData | None) -> str:
    """One line per member for the CLI."""
    if row is None or row.last_attempt_at is None:
        return f"AS{asn}: never expanded (routes are tagged IRR not checked)"
    parts = [f"AS{asn}: {row.as_set or '-'} ({row.as_set_choice or '-'})"]
    if row.prefixes_ipv4 is not None:
        parts.append(
            f"{len(row.prefixes_ipv4)} IPv4 / {len(row.prefixes_ipv6 or [])} IPv6 prefixes, "
            f"{len(row.origins or [])} origins, fetched {row.fetched_at:%Y-%m-%d %H:%M}Z"
        )
    else:
        parts.append("no good data yet")
    if row.last_error_code:
        parts.append(f"LAST ATTEMPT FAILED: {row.last_error} ({row.last_error_code})")
    if row.as_set_override:
        parts.append(f"override {row.as_set_override}")
    return "; ".join(parts)


# --- what members and admins see ---------------------------------------------------------


@dataclass(frozen=True)
class IrrStatus:
    asn: int
    enabled: bool
    row: IrrData | None
    selection: IrrSelection  # what the next refresh expands
    peeringdb_as_set: str | None


def statuses(db: Session, settings: Settings, asns: Iterable[int]) -> list[IrrStatus]:
    wanted = sorted(set(asns))
    rows = {r.asn: r for r in db.scalars(select(IrrData).where(IrrData.asn.in_(wanted)))}
    records = {
        r.asn: r
        for r in db.scalars(select(PeeringDBNetwork).where(PeeringDBNetwork.asn.in_(wanted)))
    }
    out = []
    for asn in wanted:
        row, record = rows.get(asn), records.get(asn)
        pdb_text = record.irr_as_set if record is not None and record.found else None
        out.append(
            IrrStatus(
                asn=asn,
                enabled=settings.irr.enabled,
                row=row,
                selection=select_irr_objects(
                    asn, override=row.as_set_override if row else None, peeringdb=pdb_text
                ),
                peeringdb_as_set=pdb_text,
            )
        )
    return out


def admin_asns(db: Session) -> list[int]:
    """Every member ASN with a route-server client, and any ASN with IRR data or override."""
    return sorted(set(member_asns(db)) | set(db.scalars(select(IrrData.asn))))
