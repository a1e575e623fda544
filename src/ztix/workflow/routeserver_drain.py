"""Draining a route server for maintenance (RFC 8326) and bringing it back.

A drained server adds GRACEFUL_SHUTDOWN (65535:0) to every route it exports, so members
move their traffic to the other server of the pair before it goes down. The flag lives on
the server's state row; the change reaches BIRD through the normal sync (render, check,
timed configure, confirm). Never both servers of a network at once: draining one while
another of the same network is drained is refused. Concurrent drains of two servers of a
pair cannot both win: the rows of the whole pair are locked (PostgreSQL ``FOR UPDATE``,
SQLite's one writer) before the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ztix.config import RouteServerConfig, Settings
from ztix.db.base import utcnow
from ztix.db.models import RouteServerState
from ztix.errors import AppError
from ztix.workflow import audit
from ztix.workflow.audit import Actor
from ztix.workflow.dispatch import route_servers_after_commit
from ztix.workflow.routeservers import ensure_rows, request_sync


@dataclass(frozen=True)
class DrainState:
    server: str
    drained: bool
    changed: bool  # False when the server already was in the asked state
    drained_at: datetime | None
    drained_by: str | None


def _server(settings: Settings, name: str) -> RouteServerConfig:
    rs = next((r for r in settings.routeservers.servers if r.name == name), None)
    if rs is None:
        raise AppError("route_server_not_found", f"no route server {name!r}")
    if not rs.enabled:
        raise AppError("route_server_disabled", f"route server {name} is disabled")
    return rs


def pair_of(settings: Settings, rs: RouteServerConfig) -> list[str]:
    """The names of the enabled servers serving the same IX network as ``rs`` (itself too)."""
    declared = settings.find_network(rs.network)
    return sorted(
        r.name
        for r in settings.routeservers.servers
        if r.enabled and settings.find_network(r.network) is declared
    )


def set_drained(
    db: Session, settings: Settings, actor: Actor, name: str, drained: bool
) -> DrainState:
    """Drain (or undrain) ``name``; the caller commits. A sync of the server follows the
    commit (``route_servers_after_commit``)."""
    rs = _server(settings, name)
    pair = pair_of(settings, rs)
    ensure_rows(db, pair)
    rows = {
        row.name: row
        for row in db.scalars(
            select(RouteServerState)
            .where(RouteServerState.name.in_(pair))
            .order_by(RouteServerState.name)
            .with_for_update()
        )
    }
    row = rows[name]
    if row.drained == drained:
        return DrainState(name, drained, False, row.drained_at, row.drained_by)
    if drained:
        others = sorted(n for n, r in rows.items() if n != name and r.drained)
        if others:
            raise AppError(
                "route_server_pair_drained",
                f"route server {', '.join(others)} of the same network is drained: draining "
                f"{name} too would leave the members with no preferred route server. Undrain "
                f"{others[0]} first.",
                drained=others,
            )
    before = {"drained": row.drained, "drained_at": row.drained_at, "drained_by": row.drained_by}
    row.drained = drained
    row.drained_at = utcnow() if drained else None
    row.drained_by = actor.name[:200] if drained else None
    audit.record(
        db,
        actor,
        "routeserver.drained" if drained else "routeserver.undrained",
        target_type="route_server",
        target_id=name,
        details={
            "server": name,
            "pair": pair,
            "before": {**before, "drained_at": _iso(before["drained_at"])},
        },
    )
    request_sync(db, [name])
    route_servers_after_commit(db)
    return DrainState(name, drained, True, row.drained_at, row.drained_by)


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None
