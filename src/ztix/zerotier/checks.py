"""Controller readiness: named checks, and the declared IX networks made to exist with the
IX layer-2 settings (created when missing, drifted fields set back, read back).

Results are typed (:class:`Check`, :class:`NetworkOutcome`, :class:`PreflightReport`); what
to record about them is the workflow's (``workflow/controller.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ztix.config import NetworkConfig
from ztix.domain.controller import (
    Change,
    Check,
    NetworkOutcome,
    PreflightReport,
)
from ztix.zerotier import layer2
from ztix.zerotier.controller import ControllerProvider, NodeStatus
from ztix.zerotier.provider import ProviderError, ProviderNotFound

TESTED_VERSION_PREFIX = "1.14."


# -- checks ------------------------------------------------------------------------------------


def status_checks(controller: ControllerProvider) -> tuple[NodeStatus | None, list[Check]]:
    """``GET /status``: the controller's address, version and whether it is online."""
    try:
        status = controller.status()
    except ProviderError as exc:
        return None, [Check("status", "fail", f"GET /status failed: {exc.message}")]
    state = "online" if status.online else "not online (members cannot reach it yet)"
    checks = [
        Check(
            "status",
            "pass" if status.online else "warn",
            f"controller {status.address}, zerotier-one {status.version}, {state}",
        )
    ]
    if not status.version.startswith(TESTED_VERSION_PREFIX):
        checks.append(
            Check(
                "version",
                "warn",
                f"zerotier-one {status.version}: ZT-IX is tested with 1.14.x "
                "(1.16 moved the controller under a non-commercial licence)",
            )
        )
    return status, checks


def controller_check(controller: ControllerProvider) -> Check:
    """``GET /controller``: a controller runs here and its database is ready (503: not)."""
    try:
        state = controller.controller_status()
    except ProviderError as exc:
        return Check("controller", "fail", f"GET /controller failed: {exc.message}")
    if not state.controller:
        return Check("controller", "fail", "this zerotier-one node runs no network controller")
    if not state.database_ready:
        return Check(
            "controller",
            "fail",
            "databaseReady is false (GET /controller answered 503): the controller's "
            "database is not ready",
        )
    return Check("controller", "pass", f"database ready (API version {state.api_version})")


def _foreign(nwid: str, address: str) -> str:
    return (
        f"network {nwid} belongs to another controller ({nwid[:10]}), not to this one "
        f"({address}): a controller stores such a network but never serves it to members. "
        f"Declare it by suffix ({nwid[10:]}) or point zerotier.controller at {nwid[:10]}"
    )


def _network_label(conf: NetworkConfig, address: str | None) -> str:
    return f"network {conf.network_id(address) or 'suffix ' + (conf.suffix or '?')}"


def check_ready(networks: Sequence[NetworkConfig], controller: ControllerProvider) -> list[Check]:
    """Cheap, read-only readiness: controller status and database, and every declared
    network present under this controller with the IX layer-2 settings. Layer-2 drift fails
    the check, naming the fields: the peering LAN is not what ZT-IX promises (an MTU of 2800
    black-holes packets, an assignment mode hands out addresses) until the reconciler has
    set them back, within one ``jobs.reconcile_interval_seconds``."""
    status, checks = status_checks(controller)
    if status is None:
        return checks
    ctrl = controller_check(controller)
    checks.append(ctrl)
    if not ctrl.ok:
        return checks
    for conf in networks:
        label = _network_label(conf, status.address)
        nwid = conf.network_id(status.address)
        assert nwid is not None
        if not nwid.startswith(status.address):
            checks.append(Check(label, "fail", _foreign(nwid, status.address)))
            continue
        try:
            actual = controller.get_network(nwid)
        except ProviderNotFound:
            checks.append(
                Check(label, "fail", "missing on the controller (the reconciler re-creates it)")
            )
            continue
        except ProviderError as exc:
            checks.append(Check(label, "fail", exc.message))
            continue
        changes = layer2.drift(actual, layer2.desired_network(conf))
        if changes:
            fields = ", ".join(c.field for c in changes)
            checks.append(
                Check(
                    label,
                    "fail",
                    f"layer-2 settings differ from desired in {fields} "
                    "(the reconciler sets them back)",
                )
            )
        else:
            checks.append(Check(label, "pass", "present with the IX layer-2 settings"))
    return checks


# -- preflight ---------------------------------------------------------------------------------


def reconcile_network(
    controller: ControllerProvider, conf: NetworkConfig, address: str
) -> NetworkOutcome:
    """Create the declared network when missing (under its own ID: only this controller's
    prefix is accepted), or set back exactly the layer-2 fields that drifted; read back."""
    nwid = conf.network_id(address)
    assert nwid is not None
    label = _network_label(conf, address)

    def failed(detail: str) -> NetworkOutcome:
        return NetworkOutcome(label, nwid, conf.name, "failed", detail=detail)

    if not nwid.startswith(address):
        return failed(_foreign(nwid, address))
    desired = layer2.desired_network(conf)
    try:
        try:
            actual: dict[str, Any] | None = controller.get_network(nwid)
        except ProviderNotFound:
            actual = None
        if actual is None:
            # POST /controller/network/{nwid} creates a network under this exact ID.
            readback = controller.set_network(nwid, desired)
            left = layer2.drift(readback, desired)
            if left:
                return failed(f"created, but read back different: {_describe(left)}")
            return NetworkOutcome(label, nwid, conf.name, "created")
        changes = layer2.drift(actual, desired)
        if not changes:
            return NetworkOutcome(label, nwid, conf.name, "unchanged")
        readback = controller.set_network(nwid, layer2.correction(changes))
        left = layer2.drift(readback, desired)
        if left:
            return failed(f"correction did not stick: {_describe(left)}")
        return NetworkOutcome(label, nwid, conf.name, "corrected", tuple(changes))
    except ProviderError as exc:
        return failed(exc.message)


def _describe(changes: Iterable[Change]) -> str:
    return "; ".join(c.describe() for c in changes)


def preflight_checks(
    networks: Sequence[NetworkConfig], controller: ControllerProvider
) -> PreflightReport:
    """Check the controller and make every declared network exist with the IX layer-2
    settings (creating or correcting it, each change reported). Idempotent."""
    report = PreflightReport()
    status, checks = status_checks(controller)
    report.checks.extend(checks)
    if status is not None:
        report.controller_address, report.controller_version = status.address, status.version
        ctrl = controller_check(controller)
        report.checks.append(ctrl)
        if ctrl.ok:
            for conf in networks:
                outcome = reconcile_network(controller, conf, status.address)
                report.networks.append(outcome)
                report.checks.append(outcome.check())
    return report
