"""Fixtures for provisioning: a controller emulator with the IX networks on it (a pytest
plugin loaded by tests/conftest.py, so every test package has them)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import real_controller as real
from tests.support.app import NETWORKS, make_settings
from ztix.config import Settings
from ztix.db.session import Database
from ztix.jobs.tasks import JobContext
from ztix.workflow import audit, dispatch, networks
from ztix.workflow.dispatch import Dispatcher
from ztix.zerotier import layer2
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.emulator import ControllerEmulator

SUFFIXES = ["000001", "000002"]


@pytest.fixture(scope="session")
def real_controller() -> Iterator[real.RealController]:
    """A real zerotier-one 1.14.1 in a network namespace of its own, for this test process.

    Fails (never skips) naming what is missing when the binary or root is not there.
    """
    controller = real.start()
    yield controller
    controller.stop()


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[ControllerEmulator]:
    with ControllerEmulator(tmp_path / "zt") as emu:
        yield emu


def ix_networks(emulator: ControllerEmulator) -> list[dict[str, Any]]:
    """The test networks, under the emulator's controller address."""
    return [
        {**net, "zt_network_id": emulator.address + suffix}
        for net, suffix in zip(NETWORKS, SUFFIXES, strict=True)
    ]


@pytest.fixture
def zt_settings(emulator: ControllerEmulator, database: Database) -> Callable[..., Settings]:
    """Settings pointing at the emulator; the networks exist on it (with the IX layer-2
    settings, as preflight leaves them) and in the database."""

    def factory(**overrides: Any) -> Settings:
        data: dict[str, Any] = {
            "networks": ix_networks(emulator),
            "zerotier": {
                "controller": {"url": emulator.url, "token": emulator.token, "timeout_seconds": 2}
            },
            "jobs": {
                "lease_seconds": 30,
                "retry": {"base_seconds": 0.05, "cap_seconds": 0.2, "max_attempts": 4},
            },
        }
        data.update(overrides)
        settings = make_settings(database.url, **data)
        with ControllerProvider(ControllerSettings(url=emulator.url, token=emulator.token)) as zt:
            for net in settings.networks:
                assert net.zt_network_id is not None
                zt.set_network(net.zt_network_id, layer2.desired_network(net))
        with database.session() as db:
            networks.sync_networks(db, audit.SYSTEM, settings.networks)
        return settings

    return factory


class QueueDispatcher:
    """Collects dispatches; tests run the jobs themselves, deterministically."""

    def __init__(self) -> None:
        self.queue: list[Any] = []
        self.route_server_syncs = 0

    def request_changed(self, request_id: Any) -> None:
        self.queue.append(request_id)

    def route_servers_changed(self) -> None:
        self.route_server_syncs += 1


@pytest.fixture
def job_context(
    zt_settings: Callable[..., Settings], database: Database
) -> Callable[..., JobContext]:
    contexts: list[JobContext] = []

    def factory(
        settings: Settings | None = None, dispatcher: Dispatcher | None = None
    ) -> JobContext:
        settings = settings or zt_settings()
        conf = settings.zerotier.controller
        provider = ControllerProvider(
            ControllerSettings(url=conf.url, token=conf.token, timeout_seconds=conf.timeout_seconds)
        )
        ctx = JobContext(settings, database, provider, dispatcher or QueueDispatcher())
        dispatch.install(database.sessionmaker, ctx.dispatcher)
        contexts.append(ctx)
        return ctx

    yield factory
    for ctx in contexts:
        ctx.provider.close()


@dataclass
class ControllerTarget:
    """A controller the drift, recreate and token-rotation tests run against: the emulator
    or the real zerotier-one. The token comes from its file, as in production."""

    name: str
    url: str
    address: str
    token_file: Path
    rotate_token: Callable[[str], None]  # a new token in the file, and the controller on it
    shutting_down: Callable[[], AbstractContextManager[None]]  # SIGTERM until exit
    set_latency: Callable[[float], None] = lambda seconds: None  # the emulator's only

    def provider(self, timeout: float = 5.0) -> ControllerProvider:
        return ControllerProvider(
            ControllerSettings(url=self.url, token_file=self.token_file, timeout_seconds=timeout)
        )


@contextlib.contextmanager
def _emulator_shutting_down(emu: ControllerEmulator) -> Iterator[None]:
    emu.set_shutting_down(True)
    try:
        yield
    finally:
        emu.set_shutting_down(False)


@pytest.fixture(params=["emulator", "real-controller"])
def controller_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ControllerTarget]:
    if request.param == "emulator":
        with ControllerEmulator(tmp_path / "zt") as emu:
            yield ControllerTarget(
                "emulator",
                emu.url,
                emu.address,
                emu.home / "authtoken.secret",
                emu.set_token,
                lambda: _emulator_shutting_down(emu),
                emu.set_latency,
            )
        return
    ctl: real.RealController = request.getfixturevalue("real_controller")
    with ControllerProvider(ControllerSettings(url=ctl.url, token_file=ctl.token_file)) as zt:
        address = zt.status().address
        before = set(zt.list_networks())
    try:
        yield ControllerTarget(
            "real-controller",
            ctl.url,
            address,
            ctl.token_file,
            ctl.rotate_token,
            ctl.shutting_down,
        )
    finally:
        with ControllerProvider(ControllerSettings(url=ctl.url, token_file=ctl.token_file)) as zt:
            for nwid in set(zt.list_networks()) - before:  # leave the next test a clean slate
                zt.delete_network(nwid)


def target_settings(target: ControllerTarget, database: Database, **overrides: Any) -> Settings:
    """Settings for ``target`` (networks under its address, token from its file), with the
    networks created (with the IX layer-2 settings, as preflight leaves them) on the
    controller and in the database."""
    data: dict[str, Any] = {
        "networks": [
            {**net, "zt_network_id": target.address + suffix}
            for net, suffix in zip(NETWORKS, SUFFIXES, strict=True)
        ],
        "zerotier": {
            "controller": {
                "url": target.url,
                "token_file": str(target.token_file),
                "timeout_seconds": 5,
            }
        },
        "jobs": {
            "lease_seconds": 30,
            "retry": {"base_seconds": 0.05, "cap_seconds": 0.2, "max_attempts": 4},
        },
    }
    data.update(overrides)
    settings = make_settings(database.url, **data)
    with target.provider() as zt:
        for net in settings.networks:
            assert net.zt_network_id is not None
            zt.set_network(net.zt_network_id, layer2.desired_network(net))
    with database.session() as db:
        networks.sync_networks(db, audit.SYSTEM, settings.networks)
    return settings
