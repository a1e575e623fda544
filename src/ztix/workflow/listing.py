"""Listing join requests: filters, pages and totals (the admin queue and a member's list).

Totals avoid counting rows where the maintained per-network, per-status counters answer."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Integer,
    ScalarSelect,
    Select,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session, aliased, joinedload
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from ztix.auth.sessions import Companion, CompanionValue
from ztix.db.base import utcnow
from ztix.db.models import (
    AddressAssignment,
    IxNetwork,
    JoinRequest,
    RequestPolicyReason,
    RequestStatusCount,
)
from ztix.db.session import Database
from ztix.domain.policy import Reason
from ztix.domain.requests import RequestStatus

SortKey = Literal["created_at", "-created_at", "updated_at", "-updated_at", "asn", "-asn"]


@dataclass(frozen=True)
class RequestFilter:
    statuses: tuple[RequestStatus, ...] = ()
    asn: int | None = None
    network_id: int | None = None
    min_age_minutes: int | None = None
    asns_visible: frozenset[int] | None = None  # None: every ASN (admins)
    needs_human_reason: Reason | None = None  # a reason of the policy's verdict
    grant_lost: bool | None = None  # True/False: flagged (workflow/grants.py) or not

    def cutoff(self) -> datetime | None:
        if self.min_age_minutes is None:
            return None
        return utcnow() - timedelta(minutes=self.min_age_minutes)


def _where(f: RequestFilter, *, created_after: datetime | None = None) -> list[Any]:
    clauses: list[Any] = []
    if f.statuses:
        clauses.append(JoinRequest.status.in_([s.value for s in f.statuses]))
    if f.asn is not None:
        clauses.append(JoinRequest.asn == f.asn)
    if f.network_id is not None:
        clauses.append(JoinRequest.network_id == f.network_id)
    if f.asns_visible is not None:
        clauses.append(JoinRequest.asn.in_(sorted(f.asns_visible)))
    if f.needs_human_reason is not None:
        clauses.append(
            JoinRequest.id.in_(
                select(RequestPolicyReason.request_id).where(
                    RequestPolicyReason.reason == f.needs_human_reason.value
                )
            )
        )
    if f.grant_lost is not None:
        lost = JoinRequest.grant_lost_at
        clauses.append(lost.is_not(None) if f.grant_lost else lost.is_(None))
    cutoff = f.cutoff()
    if created_after is not None:
        clauses.append(JoinRequest.created_at > created_after)
    elif cutoff is not None:
        clauses.append(JoinRequest.created_at <= cutoff)
    return clauses


def count_requests(
    db: Session, f: RequestFilter, counts: dict[RequestStatus, int] | None = None
) -> int:
    """The number of requests matching ``f``, without counting every row where possible.

    Filters on ASN, policy reason or lost grant go to the database (their indexes bound
    the work).
    Otherwise the total comes from the maintained per-network, per-status counters, less,
    for an age filter, the requests newer than the cutoff (a short range of the created_at
    index).
    """
    if (
        f.asn is not None
        or f.asns_visible is not None
        or f.needs_human_reason is not None
        or f.grant_lost is not None
    ):
        query = select(func.count()).select_from(JoinRequest).where(*_where(f))
        return int(db.scalar(query) or 0)
    if counts is None or f.network_id is not None:
        counts = status_counts(db, f.network_id)
    total = sum(counts[s] for s in (f.statuses or tuple(RequestStatus)))
    cutoff = f.cutoff()
    if cutoff is not None:
        recent = select(func.count()).select_from(JoinRequest)
        recent = recent.where(*_where(f, created_after=cutoff))
        total -= int(db.scalar(recent) or 0)
    return total


def list_requests(
    db: Session,
    f: RequestFilter,
    *,
    sort: SortKey,
    limit: int,
    offset: int,
) -> list[JoinRequest]:
    """A page of requests, with who created and decided each one (the admin queue shows
    them)."""
    query = (
        select(JoinRequest)
        .where(*_where(f))
        .options(joinedload(JoinRequest.created_by), joinedload(JoinRequest.decided_by))
        .order_by(*_order(sort))
        .limit(limit)
        .offset(offset)
    )
    return list(db.scalars(query))


# What a member's page item is, as SQL over its columns: the API's JSON of one request.
ItemJson = Callable[[ReadOnlyColumnCollection[str, Any]], ColumnElement[str]]


@functools.cache
def _member_query(with_statuses: bool, item: ItemJson) -> Select[str, int]:
    """The member page's statement, built once per shape: building it (subqueries, their
    proxied columns, the item's expression) costs more than running it. The member's ASNs,
    the statuses, the limit and the offset are bound parameters.

    Its text stays under 4 KiB (``tests/api/test_perf_member_list.py``): psycopg keeps the
    conversion of shorter statements only, and parsed this one again on every page."""
    r = aliased(JoinRequest, name="r")  # short names: the statement's length, above
    clauses = [r.asn.in_(bindparam("asns", expanding=True))]
    if with_statuses:
        clauses.append(r.status.in_(bindparam("statuses", expanding=True)))
    total = select(func.count()).select_from(r).where(*clauses).scalar_subquery()
    # The columns the page shows (``item`` shapes them): the request's own, its network's
    # ID and name, its addresses, one index look-up each
    # (uq_address_assignments_request_family; a join would make PostgreSQL hash every
    # address of the IX for a page of a hundred).
    page = (
        select(
            r.id,
            r.asn,
            r.node_id,
            r.status,
            r.notes,
            r.created_at,
            r.updated_at,
            r.decided_at,
            r.decision_reason,
            r.approved_by_policy,
            r.attempts,
            r.next_attempt_at,
            r.last_error_code,
            r.last_error_message,
            r.last_error_system,
            r.zt_provider,
            r.zt_authorized,
            r.zt_synced_at,
            r.policy_summary,
            IxNetwork.zt_network_id,
            IxNetwork.name.label("network_name"),
            _address(r, 4).label("ipv4"),
            _address(r, 6).label("ipv6"),
            total.label("total"),
        )
        .join(IxNetwork, IxNetwork.id == r.network_id)
        .where(*clauses)
        .order_by(r.created_at.desc(), r.id.desc())
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("page")
    )
    # The item is written over the page's columns: the page's LIMIT keeps the database from
    # merging the two, so each address is looked up once per row, not once per mention.
    return select(item(page.c).label("item"), page.c.total).order_by(
        page.c.created_at.desc(), page.c.id.desc()
    )


def _address(r: type[JoinRequest], family: int) -> ScalarSelect[str]:
    return (
        select(AddressAssignment.address)
        .where(
            AddressAssignment.request_id == r.id,
            AddressAssignment.family == literal_column(str(family), Integer),
        )
        .scalar_subquery()
    )


def member_page(
    db: Session, f: RequestFilter, item: ItemJson, *, limit: int, offset: int
) -> tuple[list[str], int]:
    """A member's page, newest first, as the JSON text of each item (``item`` says what
    that is, over the page's columns and its ``ipv4`` and ``ipv6``), and the total: one
    statement that reads no ORM object and decodes no value, the database writing the JSON
    (``db/json_text.py``). The page is a subquery with its network's ID and name, joined to
    its addresses; the total an uncorrelated scalar subquery the database computes once. A
    page past the end has no row to carry the total: it is counted then. ``f`` is a
    member's filter: their ASNs, and statuses."""
    if f.asns_visible is None or f != RequestFilter(
        statuses=f.statuses, asns_visible=f.asns_visible
    ):
        raise ValueError("member_page takes a member's ASNs and statuses only")
    params: dict[str, Any] = {"asns": sorted(f.asns_visible), "limit": limit, "offset": offset}
    if f.statuses:
        params["statuses"] = [s.value for s in f.statuses]
    rows = db.connection().execute(_member_query(bool(f.statuses), item), params).all()
    if not rows:
        return [], count_requests(db, f)
    items = [json for json, _ in rows]
    if None in items:  # a NOT NULL column read NULL (db/json_text._or_null)
        raise RuntimeError("a member page item was written as NULL")
    return items, int(rows[0][1])


# The digest of what a member's page is written from (migration 0013's function
# ``ztix_member_page_version``, where the statement is): every request in the page's window
# and before it by its key and its row version (``xmin``: PostgreSQL stamps every insert
# and update of a row with its transaction; an address change updates its request:
# migration 0012), the filter's total, and the networks' row versions; so it changes
# whenever anything the page shows, or which requests it shows, does. Its plan is made
# once per connection (inside the function: a plain statement was planned anew on every
# request).
def _digest(asns: ColumnElement[Any]) -> ColumnElement[Any]:
    """The digest for ``asns`` (an SQL array), the statuses and window bound as parameters."""
    return func.ztix_member_page_version(
        asns, cast(bindparam("statuses"), ARRAY(Text)), bindparam("window", type_=Integer)
    )


_VERSION = select(_digest(cast(bindparam("asns"), ARRAY(BigInteger))).label("digest"))


_INT4 = 2**31 - 1  # the window is a PostgreSQL integer: past it, it is past every row anyway


def _version_params(statuses: tuple[RequestStatus, ...], limit: int, offset: int) -> dict[str, Any]:
    return {"statuses": [s.value for s in statuses] or None, "window": min(offset + limit, _INT4)}


def member_version_companion(
    database: Database, statuses: tuple[RequestStatus, ...], *, limit: int, offset: int
) -> Companion | None:
    """The digest a page with these statuses, limit and offset will ask for, read with the
    session look-up (``auth.sessions.Companion``): a kept page then costs one round trip to
    the database, not two. ``None`` where no digest is read (SQLite)."""
    if database.engine.dialect.name != "postgresql":
        return None
    return Companion(_digest, _version_params(statuses, limit, offset))


def known_member_version(
    f: RequestFilter, *, limit: int, offset: int, known: CompanionValue | None
) -> str | None:
    """The digest the session look-up read (:func:`member_version_companion`; the caller
    passes it only when it was read for ``f``'s ASNs) if it was read for this page's
    statuses and window, else ``None``. No I/O."""
    if known is None or known.companion.column is not _digest or not f.asns_visible:
        return None
    if known.companion.params != _version_params(f.statuses, limit, offset):
        return None
    return str(known.value)


def member_version(database: Database, f: RequestFilter, *, limit: int, offset: int) -> str | None:
    """A digest of the row versions of everything a member's page is written from (see
    ``_digest``), read on its own: read before the page, an unchanged digest means the page
    written then is still the page (``api/page_cache.py``). ``None`` where the database
    keeps no row versions (SQLite): there every page is read."""
    if database.engine.dialect.name != "postgresql" or not f.asns_visible:
        return None
    params = _version_params(f.statuses, limit, offset)
    return str(database.fetch(_VERSION, {**params, "asns": sorted(f.asns_visible)})[0].digest)


def _order(sort: SortKey) -> list[Any]:
    column = {
        "created_at": JoinRequest.created_at,
        "updated_at": JoinRequest.updated_at,
        "asn": JoinRequest.asn,
    }[sort.lstrip("-")]
    descending = sort.startswith("-")
    order = [column.desc(), JoinRequest.id.desc()] if descending else [column, JoinRequest.id]
    return order


def status_counts(db: Session, network_id: int | None = None) -> dict[RequestStatus, int]:
    """Requests per status, over one network or the whole IX, from the counters."""
    query = select(RequestStatusCount.status, func.sum(RequestStatusCount.count)).group_by(
        RequestStatusCount.status
    )
    if network_id is not None:
        query = query.where(RequestStatusCount.network_id == network_id)
    counts = dict.fromkeys(RequestStatus, 0)
    for status, count in db.execute(query).all():
        counts[RequestStatus(status)] = int(count or 0)
    return counts
