"""Use cases of the route servers: bring each to its desired configuration, and move the
requests that wait for them.

A sync round walks the enabled servers in pair order. For each it takes the server's
lease, builds the desired configuration (``routeserver_desired``), has the
:class:`RouteServerDeployer` port render and apply it (no database transaction open
meanwhile) and records the result it returns: the server's state, the audit event, the
peers it now runs, and the requests that follow (active once every server of their
network runs them, failed when a server refused). A failure stops the round: the next
server of the pair is not touched. Triggers that arrive while a server is being synced
only mark it requested; the worker holding it goes again before letting go, so a burst of
approvals folds into a handful of reconfigurations.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ztix import observability
from ztix.config import RouteServerConfig, Settings
from ztix.db.base import utcnow
from ztix.db.models import IxNetwork, JoinRequest, RouteServerPeer, RouteServerState
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus
from ztix.domain.routeserver import DesiredConfig
from ztix.peeringdb import cache as pdb_cache
from ztix.peeringdb.api import PeeringDBApi, PeeringDBUnavailable
from ztix.routeserver.apply import ApplyResult
from ztix.routeserver.tokens import RenderError
from ztix.workflow import audit
from ztix.workflow import routeserver_desired as desired_state
from ztix.workflow.audit import Actor
from ztix.workflow.dispatch import route_servers_after_commit
from ztix.workflow.requests import transition

log = logging.getLogger(__name__)
SYNC = Actor(name="route-server-sync")
S = RequestStatus


class RouteServerDeployer(Protocol):
    """The port to the route servers (adapter: ``routeserver.deploy.BirdDeployer``)."""

    def render(self, server: str, desired: DesiredConfig) -> tuple[dict[str, str], str]:
        """``(files, desired hash)``; raises :class:`RenderError` when ``desired`` cannot be
        rendered safely."""
        ...

    def apply(
        self, rs: RouteServerConfig, desired: DesiredConfig, files: Mapping[str, str]
    ) -> ApplyResult:
        """Apply ``files`` to ``rs``; a server's failure is a result, never raised."""
        ...


@dataclass(frozen=True)
class ServerOutcome:
    server: str
    result: str  # applied | unchanged | failed | busy
    passes: int = 0
    stage: str | None = None
    detail: str = ""


@dataclass
class RouteServerContext:
    settings: Settings
    database: Database
    owner: str
    peeringdb: PeeringDBApi | None = None


# --- leases and folding ----------------------------------------------------------------


def ensure_rows(db: Session, names: list[str]) -> None:
    existing = set(db.scalars(select(RouteServerState.name)))
    for name in names:
        if name not in existing:
            try:
                with db.begin_nested():
                    db.add(RouteServerState(name=name))
            except IntegrityError:
                pass  # another worker made it


def request_sync(db: Session, names: list[str]) -> None:
    """Mark servers as needing a sync (the holder of a server's lease goes again)."""
    ensure_rows(db, names)
    db.execute(
        update(RouteServerState)
        .where(RouteServerState.name.in_(names))
        .values(sync_requested_at=utcnow())
    )


def _claim(db: Session, name: str, owner: str, lease_seconds: float) -> bool:
    now = utcnow()
    result = db.execute(
        update(RouteServerState)
        .where(
            RouteServerState.name == name,
            or_(
                RouteServerState.lease_expires_at.is_(None), RouteServerState.lease_expires_at < now
            ),
        )
        .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def _lease_seconds(settings: Settings, rs: RouteServerConfig) -> float:
    # Long enough for an upload, a check, a configure and its confirm on a slow host.
    return max(
        settings.jobs.lease_seconds, rs.configure_timeout_seconds + 4 * rs.ssh_timeout_seconds
    )


# --- the round -------------------------------------------------------------------------


def sync_round(
    ctx: RouteServerContext,
    deployer: RouteServerDeployer,
    only: set[str] | None = None,
    *,
    verify: bool = False,
) -> list[ServerOutcome]:
    """Sync the enabled servers in pair order. Without ``verify``, a server whose desired
    hash equals its recorded applied hash is skipped without contacting it; with it, the
    files on the server are compared too (the reconciler's periodic check)."""
    servers = [
        rs for rs in desired_state.enabled_servers(ctx.settings) if only is None or rs.name in only
    ]
    if not servers:
        return []
    round_ = _Round(ctx, deployer, peeringdb_failed=_refresh_peeringdb(ctx))
    outcomes: list[ServerOutcome] = []
    for index, rs in enumerate(servers):
        outcome = _sync_server(round_, rs, verify)
        outcomes.append(outcome)
        if outcome.result == "busy":
            # Someone else holds this server: they will also do the ones after it.
            with ctx.database.session() as db:
                request_sync(db, [r.name for r in servers[index:]])
            break
        if outcome.result == "failed":
            break  # never touch the next server of a pair after a failure
    return outcomes


@dataclass(frozen=True)
class _Round:
    ctx: RouteServerContext
    deployer: RouteServerDeployer
    peeringdb_failed: bool  # PeeringDB did not answer: limits fall back to the defaults


def _sync_server(round_: _Round, rs: RouteServerConfig, verify: bool) -> ServerOutcome:
    ctx = round_.ctx
    token = f"{ctx.owner}:{uuid.uuid4().hex[:12]}"[-80:]
    with ctx.database.session() as db:
        request_sync(db, [rs.name])  # first mark, then claim: a holder cannot miss us
        if not _claim(db, rs.name, token, _lease_seconds(ctx.settings, rs)):
            return ServerOutcome(rs.name, "busy")
    passes = 0
    try:
        while True:
            passes += 1
            outcome = _one_pass(round_, rs, verify and passes == 1)
            if outcome.result == "failed":
                return ServerOutcome(rs.name, "failed", passes, outcome.stage, outcome.detail)
            with ctx.database.session() as db:
                state = db.scalar(
                    select(RouteServerState)
                    .where(RouteServerState.name == rs.name)
                    .with_for_update(of=RouteServerState)
                )
                assert state is not None
                if state.sync_requested_at is None:
                    state.lease_owner = None
                    state.lease_expires_at = None
                    return ServerOutcome(rs.name, outcome.result, passes)
    finally:
        with ctx.database.session() as db:
            db.execute(
                update(RouteServerState)
                .where(RouteServerState.name == rs.name, RouteServerState.lease_owner == token)
                .values(lease_owner=None, lease_expires_at=None)
            )


def _one_pass(round_: _Round, rs: RouteServerConfig, verify: bool) -> ServerOutcome:
    """Build, render and (when it differs from what the server runs) apply, once."""
    ctx, deployer = round_.ctx, round_.deployer
    with ctx.database.session() as db:
        state = db.get(RouteServerState, rs.name)
        assert state is not None
        state.sync_requested_at = None  # what arrives from now on needs another pass
    # Read after that mark is committed (a change committed in between is read now and
    # asks for one more pass too), in a read session: at 2,000 members reading them takes
    # a second or more, and a write transaction would hold SQLite's write lock (every other
    # writer queues behind it, up to "database is locked") the whole time.
    with ctx.database.read_session() as db:
        desired, limits = desired_state.build(
            db, ctx.settings, rs, peeringdb_failed=round_.peeringdb_failed
        )
    # Rendered outside any transaction, for the same reason: CPU work of a second or more.
    # This round holds the server's lease, so nobody else writes its state meanwhile.
    try:
        rendered: tuple[dict[str, str], str] | RenderError = deployer.render(rs.name, desired)
    except RenderError as failure:
        rendered = failure
    with ctx.database.session() as db:
        state = db.get(RouteServerState, rs.name)
        assert state is not None
        if isinstance(rendered, RenderError):
            exc = rendered
            # A bug or a value the model let through: nothing reaches the server.
            log.error("route server %s: rendering failed: %s", rs.name, exc)
            state.last_result = "failed"
            state.last_stage = "render"
            state.last_output = str(exc)[:4000]
            state.last_sync_at = utcnow()
            _audit(
                db,
                "routeserver.apply_failed",
                rs.name,
                {"server": rs.name, "stage": "render", "output": str(exc)[:500]},
            )
            return ServerOutcome(rs.name, "failed", 1, "render", str(exc))
        files, desired_hash = rendered
        state.desired_hash = desired_hash
        state.peers_desired = len(desired.peers)
        desired_state.record_peers(db, rs.name, limits)
        peers = {p.request_id for p in desired.peers}
        if not verify and state.applied_hash == state.desired_hash:
            # The server already runs exactly this (as read back at its last apply).
            _peers_applied(db, ctx.settings, rs.name, peers, utcnow())
            return ServerOutcome(rs.name, "unchanged")
    result = deployer.apply(rs, desired, files)
    with ctx.database.session() as db:
        _record_result(db, ctx.settings, rs, result, peers)
    if not result.ok:
        return ServerOutcome(rs.name, "failed", 1, result.stage, result.output_excerpt or "")
    return ServerOutcome(rs.name, "applied" if result.changed else "unchanged")


def route_servers_behind(ctx: RouteServerContext, deployer: RouteServerDeployer) -> list[str]:
    """Servers whose recorded applied configuration is not the desired one (or unknown)."""
    servers = desired_state.enabled_servers(ctx.settings)
    if not servers:
        return []
    with ctx.database.read_session() as db:  # a read: no write lock while rendering below
        built = []
        for rs in servers:
            state = db.get(RouteServerState, rs.name)
            applied = state.applied_hash if state is not None else None
            built.append((rs, applied, desired_state.build(db, ctx.settings, rs)[0]))
        db.rollback()  # build() may have touched nothing, keep it that way
    behind = []
    for rs, applied, desired in built:
        _files, desired_hash = deployer.render(rs.name, desired)
        if applied is None or applied != desired_hash:
            behind.append(rs.name)
    return behind


# --- recording what the server runs ------------------------------------------------------


def _audit(db: Session, action: str, server: str, details: dict[str, Any]) -> None:
    audit.record(db, SYNC, action, target_type="route_server", target_id=server, details=details)


def _peers_applied(
    db: Session, settings: Settings, server: str, peers: set[str], at: datetime
) -> None:
    """The server runs ``peers``: mark them applied there, then activate every request
    that now runs on all the servers of its network."""
    db.execute(
        update(RouteServerPeer)
        .where(
            RouteServerPeer.server == server,
            RouteServerPeer.request_id.in_([uuid.UUID(p) for p in peers]),
            RouteServerPeer.applied.is_(False),
        )
        .values(applied=True, applied_at=at)
    )
    activate_ready(db, settings)


def _record_result(
    db: Session, settings: Settings, rs: RouteServerConfig, result: ApplyResult, peers: set[str]
) -> None:
    state = db.get(RouteServerState, rs.name)
    assert state is not None
    now = utcnow()
    state.last_sync_at = now
    state.last_duration_ms = int(result.duration * 1000)
    state.last_stage = result.stage
    state.last_exit_status = result.exit_status
    state.last_output = (result.output_excerpt or "")[:4000] or None
    details: dict[str, Any] = {
        "server": rs.name,
        "host": result.host,
        "peers": len(peers),
        "desired_hash": state.desired_hash,
    }
    if result.ok:
        state.last_result = "applied" if result.changed else "unchanged"
        state.applied_hash = result.applied_hash
        if result.changed:
            state.reconfigure_count += 1
            _audit(db, "routeserver.applied", rs.name, details)
        _peers_applied(db, settings, rs.name, peers, now)
        return
    state.last_result = "failed"
    details.update(
        stage=result.stage,
        exit_status=result.exit_status,
        output=(result.output_excerpt or "")[:500],
    )
    _audit(db, "routeserver.apply_failed", rs.name, details)
    _fail_waiting(db, settings, rs, result)


# --- the convergence gate --------------------------------------------------------------


def _servers_for(settings: Settings, zt_network_id: str) -> list[str]:
    return [rs.name for rs in settings.route_servers_of(zt_network_id)]


def _applied_on_all(servers: list[str]) -> ColumnElement[bool]:
    """A request's peer is applied on every one of ``servers`` ((server, request_id) is the
    key: one row per server at most)."""
    applied = (
        select(func.count())
        .where(
            RouteServerPeer.request_id == JoinRequest.id,
            RouteServerPeer.server.in_(servers),
            RouteServerPeer.applied.is_(True),
        )
        .scalar_subquery()
    )
    return applied == len(servers)


def peer_applied_everywhere(db: Session, settings: Settings, request: JoinRequest) -> bool:
    servers = _servers_for(settings, request.network.zt_network_id)
    if not servers:
        return True
    found = db.scalar(
        select(JoinRequest.id).where(JoinRequest.id == request.id, _applied_on_all(servers))
    )
    return found is not None


def gate_for(settings: Settings) -> Callable[[Session, JoinRequest], bool]:
    """The activation gate of provisioning: active only once every enabled route server of
    the member's network runs its sessions. Not yet: ask for a sync (after commit)."""

    def gate(db: Session, request: JoinRequest) -> bool:
        if peer_applied_everywhere(db, settings, request):
            return True
        route_servers_after_commit(db)
        return False

    return gate


def activate_ready(db: Session, settings: Settings) -> int:
    """Move to active every authorized, provisioning request whose peer every server of its
    network runs, and whose provisioning job holds no lease on it (a running job looks
    itself). One question per network: after an apply at 2,000 members, one per waiting
    request held the sync's write transaction (on SQLite, the write lock) for seconds."""
    now = utcnow()
    ready: list[tuple[JoinRequest, list[str]]] = []
    for network_id, zt_network_id in db.execute(select(IxNetwork.id, IxNetwork.zt_network_id)):
        servers = _servers_for(settings, zt_network_id)
        query = select(JoinRequest).where(
            JoinRequest.network_id == network_id,
            JoinRequest.status == S.PROVISIONING.value,
            JoinRequest.zt_authorized.is_(True),
            or_(
                JoinRequest.lease_owner.is_(None),
                JoinRequest.lease_expires_at.is_(None),
                JoinRequest.lease_expires_at <= now,
            ),
        )
        if servers:
            query = query.where(_applied_on_all(servers))
        found = db.scalars(query.order_by(JoinRequest.created_at, JoinRequest.id)).all()
        ready += [(request, servers) for request in found]
    for request, servers in ready:
        request.next_attempt_at = None
        transition(
            db,
            request,
            S.ACTIVE,
            SYNC,
            "provisioning.succeeded",
            {"route_servers": servers, "ipv4": request.address(4), "ipv6": request.address(6)},
        )
    return len(ready)


def _fail_waiting(
    db: Session, settings: Settings, rs: RouteServerConfig, result: ApplyResult
) -> None:
    applied_here = select(RouteServerPeer.request_id).where(
        RouteServerPeer.server == rs.name, RouteServerPeer.applied.is_(True)
    )
    waiting = db.scalars(
        select(JoinRequest).where(
            JoinRequest.status == S.PROVISIONING.value,
            JoinRequest.zt_authorized.is_(True),
            JoinRequest.id.not_in(applied_here),
        )
    ).all()
    message = (
        f"route server {rs.name} ({result.host}): stage {result.stage}, "
        f"exit {result.exit_status}: {(result.output_excerpt or '').strip()[:300]}"
    )
    for request in waiting:
        if rs.name in _servers_for(settings, request.network.zt_network_id):
            request.last_error_code = "route_server_apply_failed"
            request.last_error_system = f"route-server:{rs.name}"
            request.last_error_message = message
            request.lease_owner = request.lease_expires_at = None
            transition(
                db,
                request,
                S.FAILED,
                SYNC,
                "provisioning.gave_up",
                {
                    "code": "route_server_apply_failed",
                    "server": rs.name,
                    "host": result.host,
                    "stage": result.stage,
                    "exit_status": result.exit_status,
                },
            )


# --- PeeringDB ---------------------------------------------------------------------------


_never_via_lock = threading.Lock()
_never_via_fetched = -1e18  # monotonic time of this process's last never-via list fetch
# PeeringDB trouble is logged once per change of state, not on every reconciler pass.
_states = observability.StateLog(log)


def refresh_peeringdb(ctx: RouteServerContext) -> bool:
    """The reconciler's periodic refresh: members' stale records, and PeeringDB's
    never-via-route-servers list once per cache TTL. True when PeeringDB failed us."""
    global _never_via_fetched
    if ctx.peeringdb is None:
        return False
    failed = _refresh_peeringdb(ctx)
    with _never_via_lock:
        due = time.monotonic() - _never_via_fetched >= ctx.settings.peeringdb_api.cache_ttl_seconds
        if due:
            _never_via_fetched = time.monotonic()
    if due:
        try:
            flagged = ctx.peeringdb.never_via_route_servers()
        except PeeringDBUnavailable as exc:
            _states.problem(
                "never_via",
                str(exc),
                "PeeringDB never-via-route-servers list not refreshed: %s",
                exc,
            )
            with _never_via_lock:
                _never_via_fetched = -1e18  # try again next pass
            return True
        _states.recovered("never_via", "PeeringDB never-via-route-servers list refreshed again")
        with ctx.database.session() as db:
            pdb_cache.store_never_via_route_servers(db, flagged)
    return failed


def _refresh_peeringdb(ctx: RouteServerContext) -> bool:
    """Refresh stale PeeringDB data of the members; True when PeeringDB failed us."""
    if ctx.peeringdb is None:
        return False
    with ctx.database.session() as db:
        asns = set(
            db.scalars(
                select(JoinRequest.asn).where(JoinRequest.status.in_(desired_state.CLIENT_STATUSES))
            )
        )
        stale = pdb_cache.stale_asns(db, asns, ctx.settings.peeringdb_api.cache_ttl_seconds)
    if not stale:
        return False
    try:
        records = pdb_cache.fetch(ctx.peeringdb, stale)
    except PeeringDBUnavailable as exc:
        _states.problem(
            "members",
            str(exc),
            "PeeringDB refresh failed, defaults apply where nothing is cached: %s",
            exc,
        )
        return True
    _states.recovered("members", "PeeringDB refresh of members' records works again")
    with ctx.database.session() as db:
        pdb_cache.store(db, records)
    return False
