"""IRR (AS-SET) data of a member, as members and admins see it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ztix.db.base import utcnow
from ztix.workflow.irr import IrrStatus


class IrrStatusOut(BaseModel):
    asn: int
    enabled: bool = Field(description="IRR filtering is on at this IX")
    as_set: str | None = Field(description="The objects behind the data in use")
    as_set_choice: str | None = Field(description="override | peeringdb | asn")
    next_as_set: str = Field(description="What the next refresh expands")
    next_choice: str
    override: str | None
    peeringdb_as_set: str | None = Field(description="PeeringDB's irr_as_set, as typed there")
    prefixes_ipv4: int | None = Field(description="None: no good data yet (not checked)")
    prefixes_ipv6: int | None
    origins: int | None
    fetched_at: datetime | None = Field(description="When the data in use was fetched")
    age_seconds: int | None
    changed_at: datetime | None
    last_attempt_at: datetime | None
    last_error_code: str | None = Field(description="The last attempt's failure, if it failed")
    last_error: str | None
    failures_total: int

    @classmethod
    def of(cls, s: IrrStatus) -> IrrStatusOut:
        row = s.row
        fetched = row.fetched_at if row else None
        return cls(
            asn=s.asn,
            enabled=s.enabled,
            as_set=row.as_set if row else None,
            as_set_choice=row.as_set_choice if row else None,
            next_as_set=s.selection.text,
            next_choice=s.selection.choice.value,
            override=row.as_set_override if row else None,
            peeringdb_as_set=s.peeringdb_as_set,
            prefixes_ipv4=len(row.prefixes_ipv4) if row and row.prefixes_ipv4 is not None else None,
            prefixes_ipv6=len(row.prefixes_ipv6) if row and row.prefixes_ipv6 is not None else None,
            origins=len(row.origins) if row and row.origins is not None else None,
            fetched_at=fetched,
            age_seconds=int((utcnow() - fetched).total_seconds()) if fetched else None,
            changed_at=row.changed_at if row else None,
            last_attempt_at=row.last_attempt_at if row else None,
            last_error_code=row.last_error_code if row else None,
            last_error=row.last_error if row else None,
            failures_total=row.failures_total if row else 0,
        )


class IrrOverrideBody(BaseModel):
    as_set: str | None = Field(
        max_length=255,
        description='e.g. "RIPE::AS-FOO AS-BAR"; null or "" clears the override',
    )


class IrrRefreshBody(BaseModel):
    asn: int | None = Field(None, ge=1, le=4_294_967_294, description="One member; null: all")


class IrrRefreshOut(BaseModel):
    started: bool
    asns: list[int] | None = Field(description="The members being refreshed; null: all")
