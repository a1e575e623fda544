"""The real thing for the browser tests: ZT-IX served by uvicorn with the built web app, an
SQLite file database, the in-process job runner, the ZeroTier controller emulator, one BIRD 2
route server on the local transport, and the suite's PeeringDB-like OIDC provider. Chromium
is Debian's (/usr/bin/chromium), driven by Python Playwright.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.e2e.browser import PASSWORD
from tests.support.e2e import (
    BIRD,
    BIRDC,
    CHROMIUM,
    MEMBER_ASN,
    OTHER_ASN,
    SUFFIX,
    BirdServer,
    Ix,
    ix_settings,
    require_tools,
)
from tests.support.oidc_provider import FakePeeringDB, FakeUser, network
from tests.support.services import free_port
from tests.support.waiting import wait_for
from ztix.api.app import create_app
from ztix.db import migrate
from ztix.db.session import Database
from ztix.workflow import audit, users
from ztix.workflow import controller as lifecycle
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.emulator import ControllerEmulator


@pytest.fixture(scope="session")
def bird_server() -> Iterator[BirdServer]:
    """One BIRD 2 with its own socket; ZT-IX writes <config_dir>/ztix.conf, which it includes."""
    require_tools()
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


@pytest.fixture(scope="session")
def ix(tmp_path_factory: pytest.TempPathFactory, bird_server: BirdServer) -> Iterator[Ix]:
    require_tools()
    tmp = tmp_path_factory.mktemp("e2e")
    port = free_port()
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
    settings = ix_settings(tmp, port, emulator, fake, bird_server, f"{url}/auth/callback")
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
        yield Ix(url, settings, database, emulator, fake, emulator.address + SUFFIX, app)
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
    require_tools()
    browser = playwright_instance.chromium.launch(
        executable_path=str(CHROMIUM),
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    yield browser
    browser.close()
