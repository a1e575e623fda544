"""GET /api/v1/admin/controller: readiness, networks with layer-2 settings, drift, backups."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.app import NETWORKS, AppFactory, Session, login
from tests.support.app import create_user as make_user
from ztix.api.routes import controller as controller_route
from ztix.db.session import Database
from ztix.workflow import audit
from ztix.workflow import controller as lifecycle
from ztix.zerotier import layer2
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.emulator import ControllerEmulator

URL = "/api/v1/admin/controller"


@pytest.fixture
def zt(tmp_path: Path) -> Iterator[ControllerEmulator]:
    controller_route.forget()
    with ControllerEmulator(tmp_path / "zt") as emulator:
        yield emulator
    controller_route.forget()


def _overrides(zt: ControllerEmulator, url: str | None = None) -> dict[str, Any]:
    return {
        "networks": [
            {**NETWORKS[0], "zt_network_id": None, "suffix": "000001"},
        ],
        "zerotier": {
            "controller": {
                "url": url or zt.url,
                "token": zt.token,
                "token_file": None,
                "timeout_seconds": 1,
            }
        },
    }


@pytest.fixture
def admin_for(make_client: AppFactory, database: Database) -> Callable[..., tuple[Session, Any]]:
    def factory(**overrides: Any) -> tuple[Session, Any]:
        client = make_client(**overrides)
        make_user(database, "root", admin=True)
        return login(client, "root"), client.app

    return factory


def _preflight(zt: ControllerEmulator, database: Database, overrides: dict[str, Any]) -> None:
    from tests.support.app import make_settings

    settings = make_settings(database.url, **overrides)
    with ControllerProvider(ControllerSettings(url=zt.url, token=zt.token)) as ctrl:
        assert lifecycle.preflight(settings, database, ctrl, audit.SYSTEM).ok


def test_ready_controller_with_ix_networks(
    zt: ControllerEmulator, database: Database, admin_for: Callable[..., tuple[Session, Any]]
) -> None:
    overrides = _overrides(zt)
    _preflight(zt, database, overrides)
    admin, app = admin_for(**overrides)
    app.state.controller_backup_dir = Path("/nonexistent/backups")
    body = admin.get(URL).json()
    assert body["provider"] == "controller"
    assert body["ready"] is True, body
    assert body["address"] == zt.address
    assert {c["name"] for c in body["checks"]} >= {"status", "controller"}
    (net,) = body["networks"]
    assert net["zt_network_id"] == zt.address + "000001"
    assert net["present"] is True and net["drift"] == []
    assert net["layer2"]["private"] is True
    assert net["layer2"]["mtu"] == 1500
    assert net["layer2"]["ethertypes_allowed"] == ["IPv4 (0x0800)", "ARP (0x0806)", "IPv6 (0x86DD)"]
    assert net["layer2"]["v4_auto_assign"] is False
    assert body["membership_drift"]["ok"] is True
    assert body["backups"] == {"directory": "/nonexistent/backups", "count": 0, "last": None}


def test_drift_and_the_last_backup_are_reported(
    zt: ControllerEmulator,
    database: Database,
    admin_for: Callable[..., tuple[Session, Any]],
    tmp_path: Path,
) -> None:
    overrides = _overrides(zt)
    _preflight(zt, database, overrides)
    nwid = zt.address + "000001"
    with ControllerProvider(ControllerSettings(url=zt.url, token=zt.token)) as ctrl:
        ctrl.set_network(nwid, {"mtu": 2800})
        ctrl.set_member_raw(nwid, "abcdef0123", {"authorized": True})
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "ztix-controller-20261101T020304.000000Z.tar.gz").write_bytes(b"old")
    (backups / "ztix-controller-20261102T020304.000000Z.tar.gz").write_bytes(b"newest")
    admin, app = admin_for(**overrides)
    app.state.controller_backup_dir = backups
    body = admin.get(URL).json()
    assert body["ready"] is False  # layer-2 drift: not ready until repaired (issue 13)
    (net,) = body["networks"]
    assert [c["field"] for c in net["drift"]] == ["mtu"]
    assert net["drift"][0]["have"] == 2800 and net["drift"][0]["want"] == layer2.IX_MTU
    (diff,) = body["membership_drift"]["differences"]
    assert diff["kind"] == "unknown_member" and diff["node_id"] == "abcdef0123"
    assert body["backups"]["count"] == 2
    assert body["backups"]["last"]["name"] == "ztix-controller-20261102T020304.000000Z.tar.gz"
    assert body["backups"]["last"]["created_at"].startswith("2026-11-02T02:03:04")
    assert body["backups"]["last"]["size_bytes"] == 6


def test_an_unreachable_controller_is_not_ready_not_an_error(
    zt: ControllerEmulator, admin_for: Callable[..., tuple[Session, Any]]
) -> None:
    admin, _ = admin_for(**_overrides(zt, url="http://127.0.0.1:9"))
    response = admin.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is False
    assert body["summary"].startswith("Not ready: status")
    assert body["checks"][0]["status"] == "fail"
    assert body["membership_drift"] is None
    assert body["networks"][0]["present"] is False


def test_answers_are_cached_briefly(
    zt: ControllerEmulator, database: Database, admin_for: Callable[..., tuple[Session, Any]]
) -> None:
    overrides = _overrides(zt)
    _preflight(zt, database, overrides)
    admin, _ = admin_for(**overrides)
    first = admin.get(URL).json()
    zt.set_database_ready(False)
    assert admin.get(URL).json() == first
    controller_route.forget()
    assert admin.get(URL).json()["ready"] is False


def test_admins_only(make_client: AppFactory, database: Database) -> None:
    client = make_client()
    make_user(database, "alice", asns=(213035,))
    member = login(client, "alice")
    assert member.get(URL).json()["code"] == "admin_required"
    client.cookies.clear()
    assert client.get(URL).json()["code"] == "not_authenticated"
