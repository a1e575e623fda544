"""The start-up gate of ``ztix serve`` and ``ztix worker`` (``zerotier.startup_gate``).

Both modes run the controller preflight. What differs is what the caller does with a failure:

- ``strict``: refuse to start, naming the failed check (``result.must_stop``);
- ``non_strict``: start anyway and report not ready. Provisioning then fails with
  *unavailable* errors, which the job system retries until the controller is back.

Call it after the database is migrated and, with ``embedded_emulator``, after the emulator
has started. It never raises for controller trouble; only database errors propagate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ztix import observability
from ztix.config import Settings, StartupGate
from ztix.db.session import Database
from ztix.workflow.audit import SYSTEM
from ztix.zerotier.controller import ControllerProvider
from ztix.zerotier.lifecycle import PreflightReport, preflight
from ztix.zerotier.provider import ProviderError

log = logging.getLogger(__name__)
# The reconciler re-runs the gate every pass until it passes: warn once per failure reason.
_states = observability.StateLog(log)


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
    controller: ControllerProvider | None = None,
) -> GateResult:
    """Run the preflight once and say whether ZT-IX may start (see the module docstring).

    ``controller`` is built from the settings when not given (and closed afterwards).
    """
    strict = settings.zerotier.startup_gate is StartupGate.STRICT
    if settings.zerotier.provider != "controller":
        return GateResult(True, strict, "ZeroTier Central: no self-hosted controller to check")
    own = controller is None
    try:
        if controller is None:
            # Imported here: jobs.context imports the job code, which must stay free to
            # import the lifecycle modules.
            from ztix.jobs.context import build_controller

            controller = build_controller(settings)
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
