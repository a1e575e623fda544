"""The real thing for the browser tests: ZT-IX served by uvicorn with the built web app, an
SQLite file database, the in-process job runner, the ZeroTier controller emulator, one BIRD 2
route server on the local transport, and the suite's PeeringDB-like OIDC provider. Chromium
is Debian's (/usr/bin/chromium), driven by Python Playwright.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.e2e.browser import AXE, PASSWORD, PNGQUANT, ROOT, WRITE_SCREENSHOTS
from tests.support.oidc_provider import FakePeeringDB, FakeUser, network
from tests.support.waiting import wait_for
from ztix.api.app import create_app
from ztix.config import Settings
from ztix.db import migrate
from ztix.db.session import Database
from ztix.workflow import audit, users
from ztix.workflow import controller as lifecycle
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.emulator import ControllerEmulator

DIST = ROOT / "frontend" / "dist"
CHROMIUM = Path("/usr/bin/chromium")
BIRD = shutil.which("bird") or "/usr/sbin/bird"
BIRDC = shutil.which("birdc") or "/usr/sbin/birdc"

SUFFIX = "000001"
MEMBER_ASN = 213035  # the PeeringDB user's network
OTHER_ASN = 196610  # a local operator of another network
RS_ASN = 64999


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _require_tools() -> None:
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


@pytest.fixture(scope="session")
def bird_server() -> Iterator[BirdServer]:
    """One BIRD 2 with its own socket; ZT-IX writes <config_dir>/ztix.conf, which it includes."""
    _require_tools()
    root = Path(tempfile.mkdtemp(prefix="e2e-rs-", dir="/tmp"))  # socket paths must stay short
    config_dir = root / "ztix"
    config_dir.mkdir()
    (config_dir / "ztix.conf").write_text("# placeholder until ZT-IX's first apply\n")
    (config_dir / "peers").mkdir()
    main_config = root / "bird.conf"
    main_config.write_text(
        f'log "{root / "bird.log"}" all;\nrouter id 192.0.2.1;\nprotocol device {{}}\n'
        f'include "{config_dir}/ztix.conf";\n'
    )
    sock = root / "bird.ctl"
    process = subprocess.Popen(
        [BIRD, "-f", "-c", str(main_config), "-s", str(sock), "-P", str(root / "bird.pid")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def answers() -> bool:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"bird exited: {err}")
        done = subprocess.run(
            [BIRDC, "-s", str(sock), "show", "status"], capture_output=True, check=False
        )
        return sock.exists() and done.returncode == 0 and b"up and running" in done.stdout

    try:
        wait_for("BIRD to answer", answers, 15)
        yield BirdServer(root, config_dir, main_config, sock, process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Ix:
    """Everything a browser test needs to reach and steer."""

    url: str
    settings: Settings
    database: Database
    emulator: ControllerEmulator
    peeringdb: FakePeeringDB
    network_id: str


def _settings(
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
            "status_cache_seconds": 1,
        },
        # No PeeringDB API here: a closed local port fails at once; defaults apply.
        "peeringdb_api": {"base_url": "http://127.0.0.1:9/api", "timeout_seconds": 1},
    }
    return Settings(**data)


@pytest.fixture(scope="session")
def ix(tmp_path_factory: pytest.TempPathFactory, bird_server: BirdServer) -> Iterator[Ix]:
    _require_tools()
    tmp = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    emulator = ControllerEmulator(tmp / "zt").start()
    fake = FakePeeringDB(
        redirect_uris=[f"{url}/auth/callback"],
        user=FakeUser(
            id=4242,
            given_name="Ada",
            family_name="Lovelace",
            networks=[network(MEMBER_ASN, perms=15, name="Example Networks")],
        ),
    ).start()
    settings = _settings(tmp, port, emulator, fake, bird_server, f"{url}/auth/callback")
    migrate.upgrade(settings.database_url)
    database = Database(settings.database_url)
    with ControllerProvider(
        ControllerSettings(url=emulator.url, token=emulator.token)
    ) as controller:
        report = lifecycle.preflight(settings, database, controller, audit.SYSTEM)
        assert report.ok, report.failed_check
    with database.session() as db:
        users.create_local_user(
            db,
            audit.CLI,
            username="admin",
            password=PASSWORD,
            admin=True,
            display_name="Ines Admin",
        )
        users.create_local_user(
            db,
            audit.CLI,
            username="bob",
            password=PASSWORD,
            asns=[OTHER_ASN],
            display_name="Bob Operator",
        )
    app = create_app(settings, database=database)
    app.state.controller_backup_dir = tmp / "backups"
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="e2e-ztix", daemon=True)
    thread.start()
    wait_for("ZT-IX to listen", lambda: server.started, 20)
    try:
        yield Ix(url, settings, database, emulator, fake, emulator.address + SUFFIX)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        fake.stop()
        emulator.stop()
        database.dispose()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    _require_tools()
    browser = playwright_instance.chromium.launch(
        executable_path=str(CHROMIUM),
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    yield browser
    browser.close()
