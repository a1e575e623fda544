"""Network-level drift (issue 13 part 2), against the emulator and the real zerotier-one:
the reconciler sets changed layer-2 settings back and re-creates a deleted network with its
members in one pass, audited and counted; readiness and `ztix controller drift` tell."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from tests.support.app import NETWORKS, make_settings
from tests.support.jobs import run_until_settled, submit
from tests.support.zt_fixtures import ControllerTarget, QueueDispatcher, target_settings
from ztix import observability
from ztix.config import Settings
from ztix.db.models import AuditEvent
from ztix.db.session import Database
from ztix.jobs.context import build_controller
from ztix.jobs.tasks import JobContext, reconcile
from ztix.workflow import controller as lifecycle
from ztix.zerotier import layer2

# What an operator (or a bad script) does to the IX network on the controller.
DRIFTS: dict[str, dict[str, Any]] = {
    "mtu": {"mtu": 2800},
    "v4AssignMode": {"v4AssignMode": {"zt": True}},
    "v6AssignMode": {"v6AssignMode": {"zt": True, "rfc4193": True, "6plane": False}},
    "rules": {"rules": [{"type": "ACTION_ACCEPT"}]},
    "private": {"private": False},
    "routes": {"routes": []},
    "multicastLimit": {"multicastLimit": 0},
    "name": {"name": "someone else's network"},
}


@pytest.fixture
def metrics() -> observability.Metrics:
    return observability.Metrics()


def _context(settings: Settings, database: Database) -> JobContext:
    ctx = JobContext(settings, database, build_controller(settings), QueueDispatcher())
    ctx.controller_ready = True  # target_settings made the networks: preflight's work
    return ctx


def _events(database: Database, action: str) -> list[AuditEvent]:
    with database.session() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _repairs(metrics: observability.Metrics, nwid: str, action: str) -> float:
    value = metrics.registry.get_sample_value(
        "ztix_network_repairs_total", {"network": nwid, "action": action}
    )
    return value or 0.0


def _not_ready(settings: Settings, target: ControllerTarget) -> list[str]:
    with target.provider() as zt:
        return [f"{c.name}: {c.detail}" for c in lifecycle.check_ready(settings, zt) if not c.ok]


def test_every_drifted_setting_is_set_back_in_one_pass(
    controller_target: ControllerTarget, database: Database, metrics: observability.Metrics
) -> None:
    settings = target_settings(controller_target, database)
    conf = settings.networks[0]
    nwid = conf.zt_network_id or ""
    ctx = _context(settings, database)
    try:
        assert reconcile(ctx)["networks_repaired"] == 0
        assert _not_ready(settings, controller_target) == []
        with controller_target.provider() as zt:
            for body in DRIFTS.values():
                zt.set_network(nwid, body)
            drifted = {
                c.field for c in layer2.drift(zt.get_network(nwid), layer2.desired_network(conf))
            }
        assert drifted == set(DRIFTS)
        (reason,) = _not_ready(settings, controller_target)
        assert reason.startswith(f"network {nwid}: layer-2 settings differ from desired in")
        assert "mtu" in reason and "multicastLimit" in reason

        assert reconcile(ctx)["networks_repaired"] == 1

        with controller_target.provider() as zt:
            assert layer2.drift(zt.get_network(nwid), layer2.desired_network(conf)) == []
        assert _not_ready(settings, controller_target) == []
        last = [e for e in _events(database, "controller.network_corrected") if e.target_id == nwid]
        assert {c["field"] for c in last[-1].details["changes"]} == set(DRIFTS)
        assert _repairs(metrics, nwid, "corrected") == 1
        assert reconcile(ctx)["networks_repaired"] == 0  # nothing left to do
    finally:
        ctx.provider.close()


def test_a_deleted_network_is_recreated_with_its_members(
    controller_target: ControllerTarget, database: Database, metrics: observability.Metrics
) -> None:
    settings = target_settings(controller_target, database)
    conf = settings.networks[0]
    nwid = conf.zt_network_id or ""
    ctx = _context(settings, database)
    try:
        reconcile(ctx)
        rids: list[uuid.UUID] = [
            submit(database, settings, asn=213035, node=f"cd000000{i:02d}") for i in range(3)
        ]
        for rid in rids:
            run_until_settled(ctx, rid)
        with controller_target.provider() as zt:
            before = {n: zt.get_member(nwid, n) for n in zt.list_members(nwid)}
            assert len(before) == 3
            assert zt.delete_network(nwid) is True
        assert any(
            "missing on the controller" in r for r in _not_ready(settings, controller_target)
        )

        result = reconcile(ctx)

        assert (result["networks_repaired"], result["repaired"]) == (1, 3)
        with controller_target.provider() as zt:
            assert layer2.drift(zt.get_network(nwid), layer2.desired_network(conf)) == []
            after = {n: zt.get_member(nwid, n) for n in zt.list_members(nwid)}
        assert set(after) == set(before)
        for node, member in after.items():
            old = before[node]
            assert member is not None and old is not None
            assert member.authorized is True
            assert sorted(member.ip_assignments) == sorted(old.ip_assignments)
        (event,) = [e for e in _events(database, "controller.network_recreated")]
        assert event.target_id == nwid
        assert len(_events(database, "member.repaired")) == 3
        assert _repairs(metrics, nwid, "recreated") == 1
        assert _not_ready(settings, controller_target) == []
    finally:
        ctx.provider.close()


def test_drift_reports_network_settings_beside_members(
    controller_target: ControllerTarget, database: Database
) -> None:
    settings = target_settings(controller_target, database)
    nwid = settings.networks[0].zt_network_id or ""
    with controller_target.provider() as zt:
        lifecycle.preflight(settings, database, zt)
        zt.set_network(nwid, {"mtu": 2800, "v4AssignMode": {"zt": True}})
        zt.set_member_raw(nwid, "abcdef0123", {"authorized": True})
        report = lifecycle.drift(settings, database, zt)
    kinds = [(d.kind, d.network_id, d.node_id) for d in report.differences]
    assert kinds == [
        ("network_setting", nwid, None),
        ("network_setting", nwid, None),
        ("unknown_member", nwid, "abcdef0123"),
    ]
    assert report.differences[0].describe() == f"network_setting: {nwid}: mtu: 2800 -> 1500"
    assert "v4AssignMode" in report.differences[1].detail


def test_preflight_refuses_another_controllers_prefix(
    controller_target: ControllerTarget, database: Database
) -> None:
    """zerotier-one accepts a network POST under another controller's address (200) and
    never serves it: preflight refuses such a configured ID itself, naming the real address,
    and creates nothing."""
    other = "aaaaaaaaaa" if not controller_target.address.startswith("aa") else "bbbbbbbbbb"
    foreign = other + "000001"
    settings = make_settings(
        database.url,
        networks=[{**NETWORKS[0], "zt_network_id": foreign}],
        zerotier={
            "controller": {
                "url": controller_target.url,
                "token_file": str(controller_target.token_file),
            }
        },
    )
    with controller_target.provider() as zt:
        report = lifecycle.preflight(settings, database, zt)
        assert foreign not in zt.list_networks()
    failed = report.failed_check
    assert failed is not None and failed.name == f"network {foreign}"
    assert f"belongs to another controller ({other})" in failed.detail
    assert f"not to this one ({controller_target.address})" in failed.detail
