"""GET /api/v1/admin/networks: each declared IX network with its layer-2 settings as
declared and as the controller (the emulator) has them, drift, active members, address usage
from the config's reserved addresses and the database's allocations, and its route servers
(both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.app import NETWORKS, AppFactory, Session, login, make_settings
from tests.support.app import create_user as make_user
from tests.support.lifecycle import add_request, node
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus
from ztix.workflow import audit
from ztix.workflow import controller as lifecycle
from ztix.zerotier import layer2
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.emulator import ControllerEmulator

URL = "/api/v1/admin/networks"


@pytest.fixture
def zt(tmp_path: Path) -> Iterator[ControllerEmulator]:
    with ControllerEmulator(tmp_path / "zt") as emulator:
        yield emulator


def _overrides(zt: ControllerEmulator, url: str | None = None) -> dict[str, Any]:
    frankfurt = {
        **NETWORKS[0],
        "zt_network_id": None,
        "suffix": "000001",
        "reserved_addresses": ["192.0.2.2-192.0.2.9", "2001:db8:ab::/120"],
    }
    rs = {
        "transport": "local",
        "asn": 6695,
        "network": "000001",
    }
    return {
        "networks": [frankfurt, NETWORKS[1]],
        "routeservers": {
            "servers": [
                {
                    **rs,
                    "name": "rs2",
                    "router_id": "192.0.2.254",
                    "ipv4": "192.0.2.254",
                    "ipv6": "2001:db8:ab::fe",
                    "pair_order": 1,
                    "enabled": False,
                },
                {
                    **rs,
                    "name": "rs1",
                    "router_id": "192.0.2.1",
                    "ipv4": "192.0.2.1",
                    "ipv6": "2001:db8:ab::1",
                    "node_id": "ab12cd34ef",
                },
            ]
        },
        "zerotier": {
            "controller": {
                "url": url or zt.url,
                "token": zt.token,
                "token_file": None,
                "timeout_seconds": 1,
            }
        },
    }


def _admin(make_client: AppFactory, database: Database, overrides: dict[str, Any]) -> Session:
    client = make_client(**overrides)
    make_user(database, "root", admin=True)
    return login(client, "root")


@pytest.mark.both_databases
def test_desired_and_actual_side_by_side_with_usage(
    zt: ControllerEmulator, database: Database, make_client: AppFactory
) -> None:
    overrides = _overrides(zt)
    settings = make_settings(database.url, **overrides)
    with ControllerProvider(ControllerSettings(url=zt.url, token=zt.token)) as ctrl:
        # The lab network belongs to another controller: preflight fails on it alone.
        lifecycle.preflight(settings, database, ctrl, audit.SYSTEM)
        nwid = zt.address + "000001"
        ctrl.set_network(nwid, {"mtu": 2800})
    add_request(
        database, nwid, node(1), asn=213035, addresses=("192.0.2.10", "2001:db8:ab::21:3035:1")
    )
    add_request(database, nwid, node(2), asn=13335, addresses=("192.0.2.11",))
    add_request(database, nwid, node(3), asn=3320, status=RequestStatus.PENDING)
    admin = _admin(make_client, database, overrides)

    response = admin.get(URL)
    assert response.status_code == 200, response.text
    frankfurt, lab = response.json()
    assert frankfurt["name"] == "ZT-IX Frankfurt" and frankfurt["zt_network_id"] == nwid
    assert frankfurt["synced"] is True and frankfurt["controller_error"] is None
    assert frankfurt["desired"]["mtu"] == layer2.IX_MTU and frankfurt["actual"]["mtu"] == 2800
    assert frankfurt["desired"]["multicast_limit"] == frankfurt["actual"]["multicast_limit"] == 32
    assert frankfurt["drift"] == [{"field": "mtu", "have": 2800, "want": layer2.IX_MTU}]
    assert frankfurt["members"] == 2  # the pending request is no member yet
    # 254 hosts; 192.0.2.2-9 and both route servers' addresses are kept by the IX.
    assert frankfurt["ipv4"] == {
        "prefix": "192.0.2.0/24",
        "total": 254,
        "reserved": 10,
        "used": 2,
        "free": 242,
    }
    # ::1-::ff (the /120 without the network address) covers rs1's ::1; rs2's ::fe too.
    assert frankfurt["ipv6"]["total"] == 2**64 - 1
    assert (frankfurt["ipv6"]["reserved"], frankfurt["ipv6"]["used"]) == (255, 1)
    assert frankfurt["ipv6"]["free"] == 2**64 - 1 - 256
    assert [rs["name"] for rs in frankfurt["route_servers"]] == ["rs1", "rs2"]
    assert frankfurt["route_servers"][0] == {
        "name": "rs1",
        "enabled": True,
        "transport": "local",
        "asn": 6695,
        "node_id": "ab12cd34ef",
        "ipv4": "192.0.2.1",
        "ipv6": "2001:db8:ab::1",
    }
    # The lab network is declared by full ID and was never made on the controller.
    assert lab["actual"] is None and "missing on the controller" in lab["controller_error"]
    assert lab["members"] == 0 and lab["ipv4"]["free"] == 254 and lab["route_servers"] == []


def test_an_unreachable_controller_still_shows_the_database_side(
    zt: ControllerEmulator, database: Database, make_client: AppFactory
) -> None:
    overrides = _overrides(zt)
    settings = make_settings(database.url, **overrides)
    with ControllerProvider(ControllerSettings(url=zt.url, token=zt.token)) as ctrl:
        # The lab network belongs to another controller: preflight fails on it alone.
        lifecycle.preflight(settings, database, ctrl, audit.SYSTEM)
    nwid = zt.address + "000001"
    add_request(database, nwid, node(1), asn=213035, addresses=("192.0.2.10",))
    admin = _admin(make_client, database, _overrides(zt, url="http://127.0.0.1:9"))
    frankfurt = admin.get(URL).json()[0]
    assert frankfurt["actual"] is None and frankfurt["controller_error"]
    assert frankfurt["drift"] == [] and frankfurt["desired"]["private"] is True
    # Known by suffix only, the network is still found in the database.
    assert frankfurt["zt_network_id"] == nwid
    assert frankfurt["members"] == 1 and frankfurt["ipv4"]["used"] == 1


def test_admins_only(make_client: AppFactory, database: Database) -> None:
    client = make_client()
    make_user(database, "alice", asns=(213035,))
    member = login(client, "alice")
    refused = member.get(URL)
    assert refused.status_code == 403 and refused.json()["code"] == "admin_required"
    assert refused.headers["content-type"].startswith("application/problem+json")
    client.cookies.clear()
    assert client.get(URL).json()["code"] == "not_authenticated"
