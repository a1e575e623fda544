"""Fixtures for the controller lifecycle tests: an emulator with its home on disk, settings
that declare the IX networks by suffix, and active memberships written straight to the DB."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.app import NETWORKS, make_settings, truncate
from ztix.config import Settings
from ztix.db import migrate
from ztix.db.models import AddressAssignment, IxNetwork, JoinRequest
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus
from ztix.workflow import networks
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.emulator import ControllerEmulator

# `from tests.support.lifecycle import *` brings in the fixtures only.
__all__ = ["controller", "emulator", "lc_settings", "sqlite_database", "zt_home"]

SUFFIXES = ("000001", "000002")
# The test networks declared by suffix: their IDs come from the controller at preflight.
SUFFIX_NETWORKS: list[dict[str, Any]] = [
    {k: v for k, v in net.items() if k != "zt_network_id"} | {"suffix": suffix}
    for net, suffix in zip(NETWORKS, SUFFIXES, strict=True)
]


@pytest.fixture
def zt_home(tmp_path: Path) -> Path:
    return tmp_path / "zt-home"


@pytest.fixture
def emulator(zt_home: Path) -> Iterator[ControllerEmulator]:
    emu = ControllerEmulator(zt_home)
    emu.start()
    yield emu
    emu.stop()


SettingsFactory = Callable[..., Settings]


def controller_data(emulator: ControllerEmulator, **extra: Any) -> dict[str, Any]:
    """The ``zerotier`` settings section for an emulator: token from its file, its home."""
    return {
        "controller": {
            "url": emulator.url,
            "token_file": str(emulator.home / "authtoken.secret"),
            "home_dir": str(emulator.home),
            "timeout_seconds": 2,
            **extra,
        }
    }


@pytest.fixture
def lc_settings(emulator: ControllerEmulator, database: Database) -> SettingsFactory:
    def factory(**overrides: Any) -> Settings:
        data: dict[str, Any] = {"networks": SUFFIX_NETWORKS, "zerotier": controller_data(emulator)}
        data.update(overrides)
        return make_settings(database.url, **data)

    return factory


@pytest.fixture
def controller(emulator: ControllerEmulator) -> Iterator[ControllerProvider]:
    conf = ControllerSettings(
        url=emulator.url, token_file=emulator.home / "authtoken.secret", timeout_seconds=2
    )
    with ControllerProvider(conf) as client:
        yield client


@pytest.fixture
def sqlite_database(sqlite_url: str) -> Iterator[Database]:
    """SQLite only: for the CLI tests, whose subprocesses are the slow part."""
    migrate.upgrade(sqlite_url)
    database = Database(sqlite_url)
    truncate(database)
    yield database
    database.dispose()


def node(n: int) -> str:
    return f"{0xA000000000 + n:010x}"


def add_request(
    database: Database,
    nwid: str,
    node_id: str,
    *,
    asn: int = 64500,
    status: RequestStatus = RequestStatus.ACTIVE,
    addresses: tuple[str, ...] = (),
) -> uuid.UUID:
    """A join request in ``status`` holding ``addresses``, as provisioning would leave it."""
    with database.session() as db:
        net = networks.get_network(db, nwid)
        assert net is not None, f"network {nwid} is not in the database"
        request = JoinRequest(asn=asn, network_id=net.id, node_id=node_id, status=status.value)
        db.add(request)
        db.flush()
        for address in addresses:
            family = ipaddress.ip_address(address).version
            db.add(
                AddressAssignment(
                    network_id=net.id,
                    request_id=request.id,
                    family=family,
                    address=address,
                    asn=asn,
                )
            )
        return request.id


def add_network_row(database: Database, nwid: str, name: str = "Only in the DB") -> None:
    with database.session() as db:
        db.add(
            IxNetwork(
                zt_network_id=nwid,
                name=name,
                ipv4_prefix="203.0.113.0/24",
                ipv6_prefix="2001:db8:ef::/64",
            )
        )


def write_config(path: Path, database_url: str, emulator: ControllerEmulator) -> Path:
    """A runtime-config YAML for the CLI subprocesses."""
    data = {
        "database_url": database_url,
        "networks": SUFFIX_NETWORKS,
        "peeringdb": {"enabled": False},
        "zerotier": controller_data(emulator),
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path
