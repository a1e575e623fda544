"""Lasting trouble is logged once per change of state, not on every reconciler pass (issue
13): a dead controller or an unreachable PeeringDB is one warning, its return one info line,
and a second outage a new warning."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from tests.support.jobs import run_until_settled, submit
from tests.support.services import free_port
from ztix import observability
from ztix.config import PeeringDBApiConfig
from ztix.db.session import Database
from ztix.jobs import tasks
from ztix.jobs.tasks import JobContext, reconcile
from ztix.peeringdb.api import PeeringDBApi
from ztix.workflow import controller as gate
from ztix.workflow import routeservers as sync
from ztix.workflow.routeservers import RouteServerContext, refresh_peeringdb
from ztix.zerotier.emulator import ControllerEmulator


@pytest.fixture(autouse=True)
def fresh_states(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with nothing known to be in trouble (the state is per process)."""
    for module in (tasks, sync, gate):
        monkeypatch.setattr(module, "_states", observability.StateLog(module.log))


def _warnings(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(1 for r in caplog.records if r.levelno == logging.WARNING and text in r.getMessage())


def _infos(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(1 for r in caplog.records if r.levelno == logging.INFO and text in r.getMessage())


def test_a_dead_controller_is_one_warning_per_outage(
    job_context: Callable[..., JobContext],
    database: Database,
    emulator: ControllerEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx = job_context()
    ctx.controller_ready = True
    run_until_settled(ctx, submit(database, ctx.settings))
    reconcile(ctx)
    caplog.set_level(logging.INFO)

    for _outage in range(2):
        emulator.stop()
        for _ in range(4):
            reconcile(ctx)
        emulator.start()  # the same port
        reconcile(ctx)
        reconcile(ctx)

    assert _warnings(caplog, "network check skipped") == 2
    assert _infos(caplog, "the controller answers again") == 2
    nwid = ctx.settings.networks[0].zt_network_id
    assert _warnings(caplog, f"drift check of {nwid} skipped") == 2
    assert _infos(caplog, f"drift check of {nwid} works again") == 2


def test_the_start_up_gate_warns_once_while_the_reconciler_retries_it(
    job_context: Callable[..., JobContext],
    emulator: ControllerEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx = job_context()
    emulator.stop()
    caplog.set_level(logging.INFO)
    for _ in range(4):
        reconcile(ctx)  # controller_ready is False: each pass re-runs the gate
    assert not ctx.controller_ready
    assert _warnings(caplog, "start-up gate (non-strict): not ready") == 1
    emulator.start()
    reconcile(ctx)
    assert ctx.controller_ready


def test_an_unreachable_peeringdb_is_one_warning_until_it_answers(
    job_context: Callable[..., JobContext],
    database: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx = job_context()
    closed = PeeringDBApiConfig(base_url=f"http://127.0.0.1:{free_port()}/api", timeout_seconds=1)
    rs = RouteServerContext(ctx.settings, database, "test", peeringdb=PeeringDBApi(closed))
    caplog.set_level(logging.INFO)
    for _ in range(4):
        assert refresh_peeringdb(rs) is True
    assert _warnings(caplog, "PeeringDB never-via-route-servers list not refreshed") == 1
