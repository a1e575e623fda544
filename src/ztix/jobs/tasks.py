"""The job code. The in-process runner and the Celery tasks both call these functions.

``process_request`` does one attempt of whatever a request needs (provision or leave);
``reconcile`` finds work that was never dispatched, leases that expired, retries that are
due, IX networks whose layer-2 settings drifted (or that were deleted), and members whose
ZeroTier state differs from the database, and re-dispatches or repairs them. Both are safe
to run twice, late, or concurrently with themselves.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from ztix import observability
from ztix.auth.identity import OAuthTokens
from ztix.auth.peeringdb import PeeringDBClient
from ztix.config import Settings
from ztix.db.base import utcnow
from ztix.db.models import JoinRequest
from ztix.db.session import Database
from ztix.domain.addressing import AddressPlanExhausted
from ztix.domain.requests import RequestStatus
from ztix.errors import AppError
from ztix.peeringdb.api import PeeringDBApi
from ztix.routeserver.deploy import BirdDeployer
from ztix.workflow import audit, grants, irr, provisioning
from ztix.workflow import controller as controller_lifecycle
from ztix.workflow.dispatch import Dispatcher
from ztix.workflow.provisioning import WORKER, ActivationGate, always_ready
from ztix.workflow.routeservers import (
    RouteServerContext,
    RouteServerDeployer,
    ServerOutcome,
    refresh_peeringdb,
    route_servers_behind,
    sync_round,
)
from ztix.zerotier.controller import ControllerProvider
from ztix.zerotier.lifecycle import ARCHIVES
from ztix.zerotier.provider import MemberSpec, ProviderError, ZeroTierProvider

log = logging.getLogger(__name__)
S = RequestStatus
# The reconciler's warnings about lasting trouble: once per change of state, not per pass.
_states = observability.StateLog(log)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_token(worker: str) -> str:
    """A lease owner unique to one attempt: threads of one worker never share a lease."""
    return f"{worker}:{uuid.uuid4().hex[:12]}"[-64:]


@dataclass
class JobContext:
    """What jobs need: settings, the database, a ZeroTier provider, a way to re-dispatch."""

    settings: Settings
    database: Database
    provider: ZeroTierProvider
    dispatcher: Dispatcher
    gate: ActivationGate = always_ready
    owner: str = field(default_factory=worker_name)
    # PeeringDB's API for the route servers' limits (None: no route server configured).
    peeringdb: PeeringDBApi | None = None
    # The route servers' adapter: renders and applies, the sync use case records.
    route_servers: RouteServerDeployer = field(default_factory=BirdDeployer)
    # PeeringDB's OpenID provider, for the re-check of users' networks (None: off).
    oidc: PeeringDBClient | None = None
    # False until a controller preflight has passed in this process (non-strict start-up):
    # the reconciler keeps trying it, so networks declared by suffix appear once the
    # controller answers.
    controller_ready: bool = False


@dataclass(frozen=True)
class Outcome:
    """What one attempt did; ``retry_in`` is the delay before the next one, if any."""

    done: bool
    retry_in: float | None = None


def process_request(ctx: JobContext, request_id: uuid.UUID) -> Outcome:
    started = time.perf_counter()
    with ctx.database.session() as db:
        work = provisioning.claim(db, ctx.settings, request_id, lease_token(ctx.owner))
    if work is None:
        return Outcome(done=False)
    try:
        if work.kind == "provision":
            member = ctx.provider.ensure_member(work.spec)
        elif ctx.settings.zerotier.delete_member_on_leave:
            ctx.provider.delete_member(work.spec.network_id, work.spec.node_id)
            member = None
        else:
            member = ctx.provider.deauthorize_member(work.spec.network_id, work.spec.node_id)
    except (ProviderError, AddressPlanExhausted) as exc:
        log.warning(
            "request %s: %s attempt %d failed: %s", request_id, work.kind, work.attempt, exc
        )
        with ctx.database.session() as db:
            delay = provisioning.attempt_failed(db, ctx.settings, work, exc)
        observability.record_provisioning(work.kind, "failed", time.perf_counter() - started)
        return Outcome(done=False, retry_in=delay)
    with ctx.database.session() as db:
        provisioning.succeed(
            db,
            work,
            member,
            ctx.provider.system,
            ctx.gate,
            recheck_after=ctx.settings.jobs.lease_seconds,
        )
    observability.record_provisioning(work.kind, "succeeded", time.perf_counter() - started)
    return Outcome(done=True)


def due_requests(ctx: JobContext, limit: int = 500) -> list[uuid.UUID]:
    """Requests with work outstanding whose lease has expired (see
    :func:`provisioning.take_redispatch`), each now holding a queued lease."""
    with ctx.database.session() as db:
        return provisioning.take_redispatch(db, ctx.settings, limit)


def network_controller(provider: ZeroTierProvider) -> ControllerProvider | None:
    """The self-hosted controller's adapter behind ``provider`` (None for Central)."""
    if isinstance(provider, ControllerProvider):
        return provider
    inner = getattr(provider, "controller", None)
    if not callable(inner):
        return None
    try:
        found = inner()
    except ProviderError:
        return None
    return found if isinstance(found, ControllerProvider) else None


def repair_networks(ctx: JobContext) -> int:
    """Set back every IX network's layer-2 settings that drifted, and re-create (same ID) a
    network that was deleted, audited and counted per network. Its members come back in the
    same pass: :func:`repair_drift` finds them missing and re-authorizes them.

    Only once a preflight has passed in this process (the networks existed then, so a
    missing one was deleted). Returns the number of networks repaired.
    """
    if not ctx.controller_ready:
        return 0
    controller = network_controller(ctx.provider)
    if controller is None:
        return 0
    try:
        address = controller.status().address
    except ProviderError as exc:
        _states.problem("controller", exc.code, "network check skipped: %s", exc)
        return 0
    _states.recovered("controller", "network check: the controller answers again")
    outcomes = controller_lifecycle.repair_networks(ctx.settings, ctx.database, controller, address)
    repaired = [o for o in outcomes if o.changed]
    for outcome in outcomes:
        key = f"network:{outcome.label}"
        if outcome.action == "failed":
            _states.problem(key, "failed", "repair of %s failed: %s", outcome.label, outcome.detail)
        else:
            _states.recovered(key, "%s: repair works again", outcome.label)
    for outcome in repaired:
        action = "recreated" if outcome.action == "created" else "corrected"
        log.warning("%s: %s (%s)", outcome.label, action, outcome.check().detail)
        observability.record_network_repair(outcome.network_id or "", action)
    return len(repaired)


def repair_drift(ctx: JobContext) -> int:
    """Re-apply active members that ZeroTier lacks, has deauthorized or has changed.

    Compares revisions first (one list call per network) and reads a member only when its
    revision moved or it is missing, holding the request's lease while it does (a leave
    waits; the node cannot change hands under the repair). Returns the number of members
    repaired.
    """
    repaired = 0
    with ctx.database.session() as db:
        active = list(db.scalars(select(JoinRequest).where(JoinRequest.status == S.ACTIVE.value)))
        by_network: dict[str, list[JoinRequest]] = {}
        for request in active:
            by_network.setdefault(request.network.zt_network_id, []).append(request)
        wanted = {
            r.id: MemberSpec(
                network_id=nwid,
                node_id=r.node_id,
                authorized=True,
                ip_assignments=tuple(a.address for a in r.addresses),
                name=provisioning.member_name(r),
            )
            for nwid, rs in by_network.items()
            for r in rs
        }
        revisions = {r.id: r.zt_revision for r in active}
    for nwid, requests in by_network.items():
        try:
            listed = ctx.provider.list_members(nwid)
        except ProviderError as exc:
            _states.problem(f"drift:{nwid}", exc.code, "drift check of %s skipped: %s", nwid, exc)
            continue
        _states.recovered(f"drift:{nwid}", "drift check of %s works again", nwid)
        for request in requests:
            spec = wanted[request.id]
            revision = listed.get(spec.node_id)
            if revision is not None and revision == revisions[request.id]:
                continue
            if _repair_member(ctx, request.id, spec):
                repaired += 1
    return repaired


def _repair_member(ctx: JobContext, request_id: uuid.UUID, spec: MemberSpec) -> bool:
    """Read one active member and re-apply it if it differs, under the request's lease
    (``provisioning.lease_for_repair``). Returns True when it was re-applied."""
    owner = lease_token(ctx.owner)
    with ctx.database.session() as db:
        if not provisioning.lease_for_repair(db, ctx.settings, request_id, owner):
            return False
    try:
        current = ctx.provider.get_member(spec.network_id, spec.node_id)
        if current is not None and current.matches(spec):
            member, repaired = current, False
        else:
            member, repaired = ctx.provider.ensure_member(spec), True
    except ProviderError as exc:
        _states.problem(
            f"member:{spec.network_id}:{spec.node_id}",
            exc.code,
            "repair of %s on %s failed: %s",
            spec.node_id,
            spec.network_id,
            exc,
        )
        with ctx.database.session() as db:
            provisioning.end_repair(db, request_id, owner)
        return False
    _states.recovered(
        f"member:{spec.network_id}:{spec.node_id}",
        "repair of %s on %s works again",
        spec.node_id,
        spec.network_id,
    )
    with ctx.database.session() as db:
        row = provisioning.end_repair(db, request_id, owner)
        if row is None or row.status != S.ACTIVE.value:
            return False
        row.zt_revision = member.revision
        row.zt_authorized = member.authorized
        row.zt_synced_at = utcnow()
        if repaired:
            audit.record(
                db,
                WORKER,
                "member.repaired",
                target_type="request",
                target_id=row.id,
                request_id=row.id,
                details={
                    "found": None
                    if current is None
                    else {
                        "authorized": current.authorized,
                        "ip_assignments": list(current.ip_assignments),
                    },
                    "set": {"authorized": True, "ip_assignments": list(spec.ip_assignments)},
                },
            )
    return repaired


def route_server_context(ctx: JobContext) -> RouteServerContext:
    return RouteServerContext(
        settings=ctx.settings,
        database=ctx.database,
        owner=ctx.owner,
        peeringdb=ctx.peeringdb,
    )


def sync_route_servers(ctx: JobContext, *, verify: bool = False) -> list[ServerOutcome]:
    """One sync round over every enabled route server (folded; see workflow.routeservers)."""
    started = time.perf_counter()
    outcomes = sync_round(route_server_context(ctx), ctx.route_servers, verify=verify)
    observability.record_route_server_round(
        ((o.server, o.result) for o in outcomes), time.perf_counter() - started
    )
    return outcomes


def reconcile(ctx: JobContext) -> dict[str, int]:
    """One pass of the reconciler; returns what it found, for logs and metrics."""
    if not ctx.controller_ready:
        gate = controller_lifecycle.startup_check(ctx.settings, ctx.database, archives=ARCHIVES)
        ctx.controller_ready = gate.ready
    due = due_requests(ctx)
    for request_id in due:
        ctx.dispatcher.request_changed(request_id)
    if due:
        observability.record_redispatches(len(due))
    networks_repaired = repair_networks(ctx)
    repaired = repair_drift(ctx)
    servers = route_server_context(ctx)
    refresh_peeringdb(servers)
    behind = route_servers_behind(servers, ctx.route_servers)
    if behind:
        ctx.dispatcher.route_servers_changed()
    if due or networks_repaired or repaired or behind:
        log.info(
            "reconciler: %d dispatched, %d networks and %d members repaired, "
            "route servers behind: %s",
            len(due),
            networks_repaired,
            repaired,
            ", ".join(behind) or "none",
        )
    return {
        "dispatched": len(due),
        "networks_repaired": networks_repaired,
        "repaired": repaired,
        "route_servers_behind": len(behind),
    }


def refresh_irr(ctx: JobContext) -> dict[str, int]:
    """One IRR refresh of every member (workflow/irr.py); no-op when IRR filtering is off."""
    report = irr.refresh(ctx.database, ctx.settings)
    return {"checked": report.checked, "changed": len(report.changed), "failed": len(report.failed)}


# How many users one re-check pass takes on; the rest are due in the next pass.
RECHECK_BATCH = 200


def recheck_interval_seconds(settings: Settings) -> float:
    """How often the re-check job runs: every 10 minutes, or each interval if shorter. Each
    pass checks only users whose last attempt is an interval old."""
    interval = settings.peeringdb.recheck_interval_hours * 3600
    return min(600.0, interval) if interval > 0 else 600.0


def recheck_peeringdb(ctx: JobContext) -> dict[str, int]:
    """One pass of the PeeringDB re-check (workflow/grants.py says what follows from it).

    Ends the sessions of users PeeringDB has not confirmed for the maximum age, then re-reads
    the networks of the users that are due, each with their stored token. The HTTP call to
    PeeringDB runs between two short transactions, never inside one.
    """
    settings = ctx.settings
    with ctx.database.session() as db:
        ended = grants.end_unconfirmed_sessions(db, settings)
    counts = {"checked": 0, "failed": 0, "lost": 0, "sessions_ended": ended}
    if ctx.oidc is None or settings.peeringdb.recheck_interval_hours == 0:
        return counts
    with ctx.database.session() as db:
        due = grants.claim_due_checks(db, settings, RECHECK_BATCH)
    for check in due:

        def keep(tokens: OAuthTokens, user_id: int = check.user_id) -> None:
            with ctx.database.session() as db:
                grants.store_tokens(db, settings, user_id, tokens, checked=False)

        try:
            identity = ctx.oidc.recheck(check.tokens, check.peeringdb_id, refreshed=keep)
        except AppError as exc:
            log.warning(
                "PeeringDB re-check of user %s failed, grants kept: %s (%s)",
                check.user_id,
                exc.detail,
                exc.code,
            )
            with ctx.database.session() as db:
                grants.recheck_failed(db, check.user_id, exc)
            counts["failed"] += 1
            observability.record_peeringdb_recheck("failed")
            continue
        with ctx.database.session() as db:
            applied = grants.recheck_succeeded(db, settings, check.user_id, identity)
        counts["checked"] += 1
        lost = applied is not None and bool(applied.lost)
        observability.record_peeringdb_recheck("lost" if lost else "confirmed")
        if applied is not None and applied.lost:
            counts["lost"] += len(applied.lost)
            log.info(
                "PeeringDB re-check: user %s lost AS%s; %d sessions ended, %d requests "
                "cancelled, %d members flagged",
                check.user_id,
                ", AS".join(map(str, applied.lost)),
                applied.sessions_revoked,
                len(applied.cancelled),
                len(applied.flagged),
            )
    return counts
