"""The member looking glass: routes of one session on one route server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from ztix.routeserver.lookingglass import Route, irr_state, rpki_state


class RouteOut(BaseModel):
    prefix: str
    from_protocol: str = Field(description="The session the route came from")
    best: bool
    since: str = Field(description="As BIRD prints it, in the route server's time")
    next_hop: str | None
    as_path: list[int]
    origin: str | None
    local_pref: int | None
    med: int | None
    communities: list[str]
    large_communities: list[str]
    filtered_reasons: list[str] = Field(description="Why the route server refused it, in words")
    reject_codes: list[int]
    rpki: str | None = Field(description="valid, unknown, invalid or not checked")
    irr: list[str]
    blackhole: bool
    graceful_shutdown: bool

    @classmethod
    def of(cls, route: Route, rs_asn: int) -> RouteOut:
        return cls(
            prefix=route.prefix,
            from_protocol=route.protocol,
            best=route.primary,
            since=route.since,
            next_hop=route.next_hop,
            as_path=list(route.as_path),
            origin=route.origin,
            local_pref=route.local_pref,
            med=route.med,
            communities=[f"{a}:{b}" for a, b in route.communities],
            large_communities=[f"{a}:{b}:{c}" for a, b, c in route.large_communities],
            filtered_reasons=route.reasons(),
            reject_codes=list(route.reject_codes),
            rpki=rpki_state(route, rs_asn),
            irr=irr_state(route, rs_asn),
            blackhole=route.blackhole,
            graceful_shutdown=route.graceful_shutdown,
        )


class RoutePageOut(BaseModel):
    server: str
    protocol: str
    kind: Literal["accepted", "filtered", "exported"]
    total: int
    offset: int
    limit: int
    read_at: datetime
    routes: list[RouteOut]


class LookupOut(BaseModel):
    server: str
    protocol: str
    prefix: str
    accepted: list[RouteOut]
    filtered: list[RouteOut]
    exported: list[RouteOut]


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
