"""Helpers of the e2e tests (fixtures stay in tests/e2e/conftest.py)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests.e2e.browser import AXE, PNGQUANT, ROOT, WRITE_SCREENSHOTS
from tests.support.oidc_provider import FakePeeringDB
from tests.support.routeserver_apply import BIRD, BIRDC
from ztix.config import Settings
from ztix.db.session import Database
from ztix.zerotier.emulator import ControllerEmulator

DIST = ROOT / "frontend" / "dist"
CHROMIUM = Path("/usr/bin/chromium")
SUFFIX = "000001"
MEMBER_ASN = 213035  # the PeeringDB user's network
OTHER_ASN = 196610  # a local operator of another network
RS_ASN = 64999


def require_tools() -> None:
    missing = []
    if not CHROMIUM.is_file():
        missing.append("/usr/bin/chromium (scripts/install-system-deps.sh installs it)")
    if not (DIST / "index.html").is_file():
        missing.append("frontend/dist (make frontend builds it)")
    if not AXE.is_file():
        missing.append("frontend/node_modules/axe-core (cd frontend && npm ci)")
    if WRITE_SCREENSHOTS and not Path(PNGQUANT).is_file():
        missing.append("pngquant (scripts/install-system-deps.sh installs it)")
    if not Path(BIRD).is_file():
        missing.append("bird (Debian package bird2)")
    if missing:
        pytest.fail("browser tests need: " + "; ".join(missing), pytrace=False)


@dataclass
class BirdServer:
    root: Path
    config_dir: Path
    main_config: Path
    socket: Path
    process: subprocess.Popen[bytes]


@dataclass
class Ix:
    """Everything a browser test needs to reach and steer."""

    url: str
    settings: Settings
    database: Database
    emulator: ControllerEmulator
    peeringdb: FakePeeringDB
    network_id: str
    app: FastAPI  # its state.settings may be swapped for a test of a config switch


def ix_settings(
    tmp: Path,
    port: int,
    emulator: ControllerEmulator,
    fake: FakePeeringDB,
    bird: BirdServer,
    redirect_uri: str,
) -> Settings:
    nwid = emulator.address + SUFFIX
    data: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp / 'ztix.sqlite3'}",
        "server": {"port": port},
        "auth": {"cookie_secure": False},
        "peeringdb": fake.config(redirect_uri=redirect_uri),
        "workflow": {"approval_mode": "manual_admin"},
        "networks": [
            {
                "zt_network_id": nwid,
                "name": "ZT-IX Frankfurt",
                "description": "Peering LAN on documentation prefixes",
                "ipv4_prefix": "192.0.2.0/24",
                "ipv6_prefix": "2001:db8:ab::/64",
                # The route server's own addresses are never handed to members.
                "reserved_addresses": ["192.0.2.1", "2001:db8:ab::1"],
            }
        ],
        "zerotier": {
            "controller": {
                "url": emulator.url,
                "token": emulator.token,
                "token_file": None,
                "timeout_seconds": 2,
            }
        },
        "jobs": {
            "reconcile_interval_seconds": 2,
            "lease_seconds": 20,
            "worker_threads": 2,
            "retry": {"base_seconds": 0.1, "cap_seconds": 0.5, "max_attempts": 2},
        },
        "routeservers": {
            "servers": [
                {
                    "name": "rs1",
                    "transport": "local",
                    "birdc": BIRDC,
                    "birdc_socket": str(bird.socket),
                    "config_dir": str(bird.config_dir),
                    "main_config": str(bird.main_config),
                    "asn": RS_ASN,
                    "router_id": "192.0.2.1",
                    "network": SUFFIX,
                    "ipv4": "192.0.2.1",
                    "ipv6": "2001:db8:ab::1",
                    "configure_timeout_seconds": 30,
                }
            ],
            # A fixed test key: the member sets a BGP session password in the journey.
            "password_keys": "u2v0Qn3Qm0n6c0l0r0C0d0B0y0R0s0F0e0a0t0K0e0Y=",
            "status_cache_seconds": 1,
        },
        # No PeeringDB API here: a closed local port fails at once; defaults apply.
        "peeringdb_api": {"base_url": "http://127.0.0.1:9/api", "timeout_seconds": 1},
    }
    return Settings(**data)
