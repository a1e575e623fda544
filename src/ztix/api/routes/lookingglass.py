"""The member looking glass: a member's routes as each route server sees them (members: their
own requests; admins: every request). Read-only, cached, throttled per user."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from ztix.api.deps import CurrentUser, DatabaseRoute, DbSession, RateLimitsDep, SettingsDep
from ztix.api.problems import responses
from ztix.api.schemas.lookingglass import LookupOut, RouteOut, RoutePageOut, utc
from ztix.workflow import lookingglass as lg

router = APIRouter(route_class=DatabaseRoute, prefix="/api/v1", tags=["looking glass"])

ERRORS = (
    "not_authenticated",
    "session_expired",
    "account_disabled",
    "request_not_found",
    "route_server_not_found",
    "not_found",
    "route_server_unavailable",
    "rate_limited",
)
PATH = "/requests/{request_id}/looking-glass/{server}/{protocol}"


@router.get(f"{PATH}/routes", response_model=RoutePageOut, responses=responses(*ERRORS))
def looking_glass_routes(
    request_id: uuid.UUID,
    server: str,
    protocol: str,
    db: DbSession,
    user: CurrentUser,
    settings: SettingsDep,
    limits: RateLimitsDep,
    kind: Annotated[Literal["accepted", "filtered", "exported"], Query()] = "filtered",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RoutePageOut:
    """One page of the session's routes: ``accepted`` or ``filtered`` (what the member sent,
    with the reasons in words) or ``exported`` (what the route server sends the member)."""
    where = lg.target(db, settings, user, request_id, server, protocol)
    db.rollback()  # no transaction held while birdc answers
    page = lg.routes(
        settings, where, kind, offset, limit, lambda: limits.looking_glass_query(user.id)
    )
    return RoutePageOut(
        server=page.server,
        protocol=page.protocol,
        kind=page.kind,
        total=page.total,
        offset=page.offset,
        limit=limit,
        read_at=utc(page.read_at),
        routes=[RouteOut.of(r, where.server.asn) for r in page.routes],
    )


@router.get(
    f"{PATH}/lookup", response_model=LookupOut, responses=responses(*ERRORS, "invalid_prefix")
)
def looking_glass_lookup(
    request_id: uuid.UUID,
    server: str,
    protocol: str,
    db: DbSession,
    user: CurrentUser,
    settings: SettingsDep,
    limits: RateLimitsDep,
    prefix: Annotated[str, Query(min_length=1, max_length=64)],
) -> LookupOut:
    """One prefix (exact match): received from the member (accepted or filtered, with the
    reasons) and sent to the member."""
    where = lg.target(db, settings, user, request_id, server, protocol)
    db.rollback()
    found = lg.lookup(settings, where, prefix, lambda: limits.looking_glass_query(user.id))
    asn = where.server.asn
    return LookupOut(
        server=server,
        protocol=protocol,
        prefix=prefix.strip(),
        **{k: [RouteOut.of(r, asn) for r in v] for k, v in found.items()},
    )
