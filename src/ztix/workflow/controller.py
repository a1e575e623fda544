"""The self-hosted controller's lifecycle use cases (DESIGN §1, issue 3): readiness,
preflight, the start-up gate, network repair, token reload, backup, restore,
restore-validate and drift.

The controller work is behind two ports (``workflow/ports.py``): ``ControllerLifecycle``
(a running controller; the ZeroTier adapter's ``ControllerProvider``) and
``ControllerArchives`` (connecting, restoring, validating; ``zerotier.lifecycle.ARCHIVES``).
They return the plain reports of ``domain/controller.py``; these functions give them their
settings sections, read what the database expects, and record the outcome.
Controller calls happen with no database transaction open (DESIGN §2); the
audit events (and, for preflight, the networks table) are written afterwards in one short
transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Set
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ztix import observability
from ztix.config import Settings, StartupGate
from ztix.db.models import AddressAssignment, IxNetwork, JoinRequest
from ztix.db.session import Database
from ztix.domain.controller import (
    MANAGED_FIELDS,
    ArchiveError,
    BackupReport,
    Check,
    DriftReport,
    Expected,
    NetworkOutcome,
    PreflightReport,
    RestoreMode,
    RestoreReport,
    ValidationReport,
    addresses,
)
from ztix.domain.requests import RequestStatus
from ztix.workflow import audit
from ztix.workflow.audit import CLI, SYSTEM, Actor
from ztix.workflow.networks import sync_networks
from ztix.workflow.ports import ControllerArchives, ControllerLifecycle
from ztix.workflow.provisioning import WORKER
from ztix.zerotier.provider import ProviderError

log = logging.getLogger(__name__)
# The reconciler re-runs the gate every pass until it passes: warn once per failure reason.
_states = observability.StateLog(log)

# A request in one of these states may or may not be authorized right now: a job is moving
# it. Neither side of a comparison treats its member as drift.
IN_FLIGHT = frozenset(
    {RequestStatus.APPROVED, RequestStatus.PROVISIONING, RequestStatus.DEPROVISIONING}
)


@contextmanager
def _failure_audited(database: Database, actor: Actor, action: str) -> Iterator[None]:
    """Audit a controller failure as ``action`` (then let it propagate)."""
    try:
        yield
    except ProviderError as exc:
        with database.session() as db:
            audit.record(
                db,
                actor,
                action,
                target_type="controller",
                details={"code": exc.code, "system": exc.system, "message": exc.message[:500]},
            )
        raise


# -- readiness and preflight -------------------------------------------------------------------


def check_ready(settings: Settings, controller: ControllerLifecycle) -> list[Check]:
    """Cheap, read-only readiness of the controller and every declared network
    (:meth:`ControllerLifecycle.check_ready`)."""
    return controller.check_ready(settings.networks)


def audit_network_outcome(
    db: Session, actor: Actor, outcome: NetworkOutcome, *, recreated: bool = False
) -> None:
    """Audit what :meth:`ControllerLifecycle.reconcile_network` changed. ``recreated``: the
    network existed before (the reconciler found it deleted), so its creation is a
    re-creation."""
    if outcome.action == "created":
        audit.record(
            db,
            actor,
            "controller.network_recreated" if recreated else "controller.network_created",
            target_type="network",
            target_id=outcome.network_id,
            details={"name": outcome.name, "fields": list(MANAGED_FIELDS)},
        )
    elif outcome.action == "corrected":
        audit.record(
            db,
            actor,
            "controller.network_corrected",
            target_type="network",
            target_id=outcome.network_id,
            details={"changes": [c.as_dict() for c in outcome.changes]},
        )


def preflight(
    settings: Settings, database: Database, controller: ControllerLifecycle, actor: Actor = CLI
) -> PreflightReport:
    """Check the controller, make every declared network exist with the IX layer-2 settings
    (creating or correcting it, each change reported), then sync the networks table.

    Idempotent: a second run reports no changes. The table is synced whenever the
    controller's address is known, even if a network check failed: it records what is
    declared, and ``serve`` syncs fully-specified networks at start anyway.
    """
    report = controller.preflight(settings.networks)
    with database.session() as db:
        if report.controller_address is not None and report.controller_ready:
            report.table_changes = sync_networks(
                db, actor, settings.networks, report.controller_address
            )
            report.checks.append(
                Check("networks table", "pass", "; ".join(report.table_changes) or "in sync")
            )
        for outcome in report.networks:
            audit_network_outcome(db, actor, outcome)
        audit.record(
            db,
            actor,
            "controller.preflight",
            target_type="controller",
            target_id=report.controller_address,
            details={
                "ok": report.ok,
                "version": report.controller_version,
                "checks": [c.as_dict() for c in report.checks],
            },
        )
    log.info("controller preflight: %s", "passed" if report.ok else "FAILED")
    return report


def repair_networks(
    settings: Settings, database: Database, controller: ControllerLifecycle, address: str
) -> list[NetworkOutcome]:
    """The reconciler's network pass: every declared network reconciled on the controller
    at ``address``; a re-created or corrected one is audited (by the worker)."""
    outcomes = [controller.reconcile_network(c, address) for c in settings.networks]
    repaired = [o for o in outcomes if o.changed]
    if repaired:
        with database.session() as db:
            for outcome in repaired:
                audit_network_outcome(db, WORKER, outcome, recreated=True)
    return outcomes


# -- the start-up gate ---------------------------------------------------------------------------
#
# ``ztix serve`` and ``ztix worker`` (``zerotier.startup_gate``) run the controller preflight.
# What differs is what the caller does with a failure:
# - ``strict``: refuse to start, naming the failed check (``result.must_stop``);
# - ``non_strict``: start anyway and report not ready. Provisioning then fails with
#   *unavailable* errors, which the job system retries until the controller is back.


@dataclass(frozen=True)
class GateResult:
    ready: bool
    strict: bool
    reason: str
    failed_check: str | None = None
    report: PreflightReport | None = None

    @property
    def must_stop(self) -> bool:
        """True when the caller must exit non-zero (strict mode, controller not ready)."""
        return self.strict and not self.ready


def startup_check(
    settings: Settings,
    database: Database,
    *,
    controller: ControllerLifecycle | None = None,
    archives: ControllerArchives | None = None,
) -> GateResult:
    """Run the preflight once and say whether ZT-IX may start (see above).

    Call it after the database is migrated and, with ``embedded_emulator``, after the
    emulator has started. ``controller`` is made by ``archives.connect`` from the settings
    when not given (and closed afterwards). It never raises for controller trouble; only
    database errors propagate.
    """
    strict = settings.zerotier.startup_gate is StartupGate.STRICT
    if settings.zerotier.provider != "controller":
        return GateResult(True, strict, "ZeroTier Central: no self-hosted controller to check")
    own = controller is None
    try:
        if controller is None:
            controller = _archives(archives).connect(settings.zerotier.controller)
    except (ProviderError, ValueError) as exc:
        reason = exc.message if isinstance(exc, ProviderError) else str(exc)
        return _log(GateResult(False, strict, f"cannot set up the controller client: {reason}"))
    try:
        report = preflight(settings, database, controller, SYSTEM)
    finally:
        if own:
            controller.close()
    failed = report.failed_check
    if failed is None:
        reason = f"controller {report.controller_address} passed preflight"
        return _log(GateResult(True, strict, reason, report=report))
    reason = f"{failed.name}: {failed.detail}"
    return _log(GateResult(False, strict, reason, failed_check=failed.name, report=report))


def _log(result: GateResult) -> GateResult:
    if result.ready:
        _states.recovered("gate", "start-up gate: the controller is ready now")
        log.info("start-up gate: ready (%s)", result.reason)
    elif result.strict:
        log.error("start-up gate (strict): not ready, refusing to start: %s", result.reason)
    else:
        _states.problem(
            "gate",
            result.failed_check or result.reason,
            "start-up gate (non-strict): not ready, starting anyway; provisioning waits: %s",
            result.reason,
        )
    return result


# -- token ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenReloadReport:
    ok: bool
    token_file: str | None
    detail: str


def reload_token(
    controller: ControllerLifecycle,
    actor: Actor,
    database: Database,
    *,
    token_file: Path | None = None,
) -> TokenReloadReport:
    """Re-read the token file, check the new token against ``GET /status``, swap it in
    (:meth:`ControllerLifecycle.reload_token`).

    On failure the old token stays in use. Neither the token nor any part of it is logged
    or audited; only the file's path (``token_file``, for the report) is.
    """
    file_name = None if token_file is None else str(token_file)
    try:
        controller.reload_token()
        report = TokenReloadReport(True, file_name, "new token accepted by the controller")
    except ProviderError as exc:
        report = TokenReloadReport(
            False, file_name, f"{exc.message}; the previous token stays in use"
        )
    with database.session() as db:
        audit.record(
            db,
            actor,
            "controller.token_reloaded" if report.ok else "controller.token_reload_failed",
            target_type="controller",
            details={"token_file": file_name, "detail": report.detail},
        )
    return report


# -- backup and restore -------------------------------------------------------------------------


def backup(
    settings: Settings,
    controller: ControllerLifecycle,
    dest_dir: Path,
    keep: int,
    actor: Actor,
    database: Database,
) -> BackupReport:
    """Write an archive to ``dest_dir`` and keep the newest ``keep``
    (:meth:`ControllerLifecycle.backup`, with ``zerotier.controller.home_dir``)."""
    home = settings.zerotier.controller.home_dir
    with _failure_audited(database, actor, "controller.backup_failed"):
        report = controller.backup(home, dest_dir, keep)
    with database.session() as db:
        audit.record(
            db,
            actor,
            "controller.backup",
            target_type="controller",
            target_id=report.controller_address,
            details={
                "archive": str(report.path),
                "size_bytes": report.size_bytes,
                "networks": report.networks,
                "members": report.members,
                "files_included": report.files_included,
                "deleted": [p.name for p in report.deleted],
                "warnings": report.warnings,
            },
        )
    return report


def restore(
    settings: Settings,
    controller: ControllerLifecycle | None,
    archive_path: Path,
    mode: RestoreMode,
    actor: Actor,
    database: Database,
    archives: ControllerArchives | None = None,
) -> RestoreReport:
    """Restore an archive (:meth:`ControllerArchives.restore`: ``files`` into
    ``zerotier.controller.home_dir`` with the controller stopped, or ``logical`` through the
    API of a running controller) and audit the outcome."""
    tools = _archives(archives)
    report = tools.restore(settings.zerotier.controller, controller, archive_path, mode)
    with database.session() as db:
        audit.record(
            db,
            actor,
            "controller.restore",
            target_type="controller",
            details={
                "mode": mode,
                "archive": str(archive_path),
                "ok": report.ok,
                "refused": report.refused,
                "networks": report.networks,
                "members": report.members,
                "files": report.files,
                "mismatches": report.mismatches[:50],
            },
        )
    return report


# -- comparing the controller with the database ---------------------------------------------------


def expected_memberships(database: Database) -> Expected:
    """The database's side of a comparison. Plain columns, not ORM objects: this reads every
    request ever made (closed ones name the reason a member is unknown)."""
    active_status = RequestStatus.ACTIVE.value
    with database.read_session() as db:
        active_nets = set(db.scalars(select(IxNetwork.zt_network_id).where(IxNetwork.is_active)))
        assigned: dict[Any, set[str]] = {}
        for request_id, address in db.execute(
            select(AddressAssignment.request_id, AddressAssignment.address)
            .join(JoinRequest, AddressAssignment.request_id == JoinRequest.id)
            .where(JoinRequest.status == active_status)
        ):
            assigned.setdefault(request_id, set()).add(address)
        active: dict[tuple[str, str], frozenset[str]] = {}
        in_flight: set[tuple[str, str]] = set()
        other: dict[tuple[str, str], str] = {}
        rows = db.execute(
            select(IxNetwork.zt_network_id, JoinRequest.node_id, JoinRequest.status, JoinRequest.id)
            .join(IxNetwork, JoinRequest.network_id == IxNetwork.id)
            .order_by(JoinRequest.created_at)
        )
        for nwid, node_id, status_text, request_id in rows:
            key, status = (nwid, node_id), RequestStatus(status_text)
            if status is RequestStatus.ACTIVE:
                active[key] = addresses(assigned.get(request_id, ()))
            elif status in IN_FLIGHT:
                in_flight.add(key)
            else:
                other[key] = status.value  # the latest request wins
    networks = frozenset(active_nets | {nwid for nwid, _ in active})
    return Expected(networks, active, frozenset(in_flight), other)


def drift(
    settings: Settings,
    database: Database,
    controller: ControllerLifecycle,
    known_extra_nodes: Set[str] = frozenset(),
    actor: Actor = CLI,
) -> DriftReport:
    """Declared networks whose layer-2 settings differ from desired, and active ZT-IX
    members the controller lacks, has deauthorized or gives other addresses, and members it
    authorizes that ZT-IX does not know (:meth:`ControllerLifecycle.drift`).

    Only ZT-IX's networks are looked at (active ones, and any with active members). Members
    of in-flight requests (approved, provisioning, deprovisioning) are skipped: a job is
    moving them. ``known_extra_nodes`` (route servers) are never "unknown". Read-only on the
    controller; raises :class:`ProviderError` when it cannot be read."""
    expected = expected_memberships(database)
    with _failure_audited(database, actor, "controller.drift_failed"):
        report = controller.drift(settings.networks, expected, known_extra_nodes)
    with database.session() as db:
        audit.record(
            db,
            actor,
            "controller.drift",
            target_type="controller",
            details={
                "ok": report.ok,
                "networks": report.networks_checked,
                "members": report.members_checked,
                "differences": [d.as_dict() for d in report.differences[:100]],
            },
        )
    return report


def restore_validate(
    archive_path: Path,
    database: Database,
    *,
    known_extra_nodes: Set[str] = frozenset(),
    actor: Actor = CLI,
    archives: ControllerArchives | None = None,
) -> ValidationReport:
    """Restore the archive into scratch emulators and compare each part with the
    database's active memberships (:meth:`ControllerArchives.validate`). ``ok`` only when
    no part differs."""
    report = ValidationReport(archive_path)
    try:
        expected = expected_memberships(database)
        _archives(archives).validate(archive_path, expected, report, known_extra_nodes)
    except (ArchiveError, ProviderError, OSError, ValueError) as exc:
        report.error = exc.message if isinstance(exc, ProviderError) else str(exc)
    with database.session() as db:
        audit.record(
            db,
            actor,
            "controller.restore_validated",
            target_type="controller",
            details={
                "archive": str(archive_path),
                "ok": report.ok,
                "error": report.error,
                "parts": [
                    {
                        "source": p.source,
                        "address": p.address,
                        "networks": p.networks,
                        "members": p.members,
                        "differences": [d.as_dict() for d in p.differences[:100]],
                        "problems": p.problems[:50],
                    }
                    for p in report.parts
                ],
            },
        )
    return report


def _archives(archives: ControllerArchives | None) -> ControllerArchives:
    """The archive port a composition root handed in; without one, the ZeroTier adapter.

    The fallback keeps ``startup_check(settings, database)``, ``restore`` and
    ``restore_validate`` callable as before (benchmarks, tests); ``jobs``, ``api`` and
    ``cli`` pass ``archives=`` themselves. It is the one import of an adapter here, named
    in the import contract ``workflow-ports`` (pyproject.toml)."""
    if archives is not None:
        return archives
    from ztix.zerotier.lifecycle import ARCHIVES

    return ARCHIVES
