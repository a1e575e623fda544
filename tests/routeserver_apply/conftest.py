"""Real parts for the apply tests: a BIRD 2 per test, an OpenSSH server per session.

BIRD runs in the foreground (``bird -f``) with its own socket, pid file and log, and a
bird.conf that includes ``<config_dir>/ztix.conf`` as a route server's does. sshd listens on
127.0.0.1:<free port> with its own host key and one authorized test key; the SSH transport
logs in as the user running the tests (root here) and drives the same BIRD.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.sshd import SshServer, running_sshd
from tests.support.waiting import wait_for
from ztix.config import RouteServerConfig
from ztix.routeserver.local import LocalTransport
from ztix.routeserver.ssh import SshTransport
from ztix.routeserver.transport import BirdcReply, RouteServerTransport

BIRD = shutil.which("bird") or "/usr/sbin/bird"
BIRDC = shutil.which("birdc") or "/usr/sbin/birdc"
INITIAL_ZTIX_CONF = "# placeholder until ZT-IX's first apply\n"


def _require(path: str, package: str) -> None:
    if not Path(path).is_file():
        pytest.fail(f"{path} is missing: install the Debian package {package}", pytrace=False)


@dataclass
class Bird:
    """One running BIRD and the files it reads."""

    root: Path
    config_dir: Path
    main_config: Path
    socket: Path
    log: Path
    process: subprocess.Popen[bytes]

    def birdc(self, *args: str) -> BirdcReply:
        done = subprocess.run(
            [BIRDC, "-v", "-s", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return BirdcReply(done.returncode, done.stdout + done.stderr)

    def protocols(self) -> set[str]:
        from ztix.routeserver.apply import parse_protocol_names

        return set(parse_protocol_names(self.birdc("show", "protocols")))

    def last_reconfiguration(self) -> str:
        for _, text in self.birdc("show", "status").lines:
            if text.startswith("Last reconfiguration on"):
                return text
        raise AssertionError("show status has no 'Last reconfiguration' line")

    def pending_undo(self) -> bool:
        return "unconfirmed" in self.birdc("configure", "status").output

    def deployed(self) -> dict[str, str]:
        if not self.config_dir.is_dir():
            return {}
        return {
            p.relative_to(self.config_dir).as_posix(): p.read_text()
            for p in self.config_dir.rglob("*")
            if p.is_file()
        }

    def leftovers(self) -> list[str]:
        """Staging directories left next to config_dir."""
        return sorted(p.name for p in self.config_dir.parent.glob("*.staging-*"))


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short path: a Unix socket path must stay under 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="rs-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def running_bird(root: Path, host_config: str | None = None) -> Iterator[Bird]:
    """Start a BIRD under ``root`` whose bird.conf includes ``<config_dir>/ztix.conf``.

    ``host_config`` replaces the default bird.conf body (it must include ztix.conf).
    """
    _require(BIRD, "bird2")
    _require(BIRDC, "bird2")
    config_dir = root / "etc" / "ztix" / "live"
    config_dir.mkdir(parents=True)
    (config_dir / "ztix.conf").write_text(INITIAL_ZTIX_CONF)
    main_config = root / "etc" / "bird.conf"
    log = root / "bird.log"
    main_config.write_text(
        host_config
        if host_config is not None
        else (
            f'log "{log}" all;\n'
            "router id 192.0.2.1;\n"
            "protocol device {}\n"
            f'include "{config_dir}/ztix.conf";\n'
        )
    )
    sock = root / "bird.ctl"
    process = subprocess.Popen(
        [BIRD, "-f", "-c", str(main_config), "-s", str(sock), "-P", str(root / "bird.pid")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = Bird(root, config_dir, main_config, sock, log, process)

    def answers() -> bool:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"bird exited: {stderr}")
        return sock.exists() and 13 in server.birdc("show", "status").codes

    def settled() -> bool:
        # Right after start-up BIRD may still finish its first configuration, which moves
        # "Last reconfiguration": tests compare that time, so wait until it holds still.
        if "up and running" not in server.birdc("configure", "status").output:
            return False
        first = server.last_reconfiguration()
        time.sleep(0.02)
        return server.last_reconfiguration() == first

    try:
        wait_for("BIRD to answer on its socket", answers, 10, every=0.02)
        wait_for("BIRD to finish its first configuration", settled, 10, every=0.02)
        yield server
    finally:
        _stop(process)


@pytest.fixture
def bird(short_dir: Path) -> Iterator[Bird]:
    with running_bird(short_dir) as server:
        yield server


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def route_server_config(bird: Bird, **overrides: Any) -> RouteServerConfig:
    values: dict[str, Any] = {
        "name": "rs1",
        "transport": "local",
        "birdc": BIRDC,
        "birdc_socket": bird.socket,
        "config_dir": bird.config_dir,
        "main_config": bird.main_config,
        "asn": 64999,
        "router_id": "192.0.2.1",
        "network": "000001",
        "ipv4": "192.0.2.1",
        "ipv6": "2001:db8:ab::1",
        "configure_timeout_seconds": 30,
        "ssh_timeout_seconds": 5,
    }
    values.update(overrides)
    return RouteServerConfig(**values)


def ssh_config(bird: Bird, sshd: SshServer, **overrides: Any) -> RouteServerConfig:
    values: dict[str, Any] = {
        "transport": "ssh",
        "host": "127.0.0.1",
        "port": sshd.port,
        "user": sshd.user,
        "host_key": sshd.host_key_line,
        "private_key_file": sshd.client_key_file,
    }
    values.update(overrides)
    return route_server_config(bird, **values)


@pytest.fixture(params=["local", "ssh"])
def transport(request: pytest.FixtureRequest, bird: Bird) -> Iterator[RouteServerTransport]:
    """Each adapter, driving the test's BIRD."""
    adapter: LocalTransport | SshTransport
    if request.param == "local":
        adapter = LocalTransport.from_config(route_server_config(bird))
    else:
        adapter = SshTransport(ssh_config(bird, request.getfixturevalue("sshd")))
    try:
        yield adapter
    finally:
        adapter.close()
