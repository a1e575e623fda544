"""Fixtures for provisioning: a controller emulator with the IX networks on it (a pytest
plugin loaded by tests/conftest.py, so every test package has them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NETWORKS, make_settings
from ztix.config import Settings
from ztix.db.session import Database
from ztix.jobs.tasks import JobContext
from ztix.workflow import audit, dispatch, networks
from ztix.workflow.dispatch import Dispatcher
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.emulator import ControllerEmulator

SUFFIXES = ["000001", "000002"]


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
    """Settings pointing at the emulator; the networks exist on it and in the database."""

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
                zt.set_network(net.zt_network_id, {"name": net.name, "private": True})
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
