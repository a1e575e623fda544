"""Reading the global audit trail: the admin's filters, and its CSV export."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from ztix.db.models import AuditEvent, JoinRequest


@dataclass(frozen=True)
class AuditFilter:
    """Every given field must match. ``asn``: events of that ASN's requests, and events
    about the ASN itself (e.g. a refused request, a grant). ``since`` is inclusive,
    ``until`` exclusive."""

    actor: str | None = None
    action: str | None = None
    request_id: uuid.UUID | None = None
    asn: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def query(self) -> Select[AuditEvent]:
        query = select(AuditEvent)
        if self.request_id is not None:
            query = query.where(AuditEvent.request_id == self.request_id)
        if self.actor is not None:
            query = query.where(AuditEvent.actor == self.actor)
        if self.action is not None:
            query = query.where(AuditEvent.action == self.action)
        if self.since is not None:
            query = query.where(AuditEvent.occurred_at >= self.since)
        if self.until is not None:
            query = query.where(AuditEvent.occurred_at < self.until)
        if self.asn is not None:
            of_asn = select(JoinRequest.id).where(JoinRequest.asn == self.asn)
            query = query.where(
                or_(
                    AuditEvent.request_id.in_(of_asn),
                    (AuditEvent.target_type == "asn") & (AuditEvent.target_id == str(self.asn)),
                )
            )
        return query


def count(db: Session, f: AuditFilter) -> int:
    return int(db.scalar(select(func.count()).select_from(f.query().subquery())) or 0)


def page(db: Session, f: AuditFilter, *, limit: int, offset: int) -> list[AuditEvent]:
    """Newest first."""
    return list(db.scalars(f.query().order_by(AuditEvent.id.desc()).limit(limit).offset(offset)))


CSV_COLUMNS = (
    "id",
    "occurred_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "request_id",
    "from_status",
    "to_status",
    "details",
    "client_address",
    "correlation_id",
)
CSV_BATCH = 500


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    # A spreadsheet runs a cell that starts like a formula: keep it text (OWASP CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_rows(db: Session, f: AuditFilter, *, max_rows: int) -> Iterator[str]:
    """The filtered trail as CSV text, header first, newest first, in batches (keyset on
    the ID, so a long export never holds one huge result)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    sent = 0
    before: int | None = None
    while sent < max_rows:
        query = f.query().order_by(AuditEvent.id.desc())
        if before is not None:
            query = query.where(AuditEvent.id < before)
        batch = list(db.scalars(query.limit(min(CSV_BATCH, max_rows - sent))))
        for e in batch:
            writer.writerow([_cell(getattr(e, c)) for c in CSV_COLUMNS])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(batch) < CSV_BATCH:
            return
        sent += len(batch)
        before = batch[-1].id
