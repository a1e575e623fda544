"""Helpers of the route-server apply tests (fixtures stay in tests/integration/conftest.py)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.sshd import SshServer
from tests.support.waiting import wait_for
from ztix.config import RouteServerConfig
from ztix.routeserver.transport import BirdcReply

BIRD = shutil.which("bird") or "/usr/sbin/bird"
BIRDC = shutil.which("birdc") or "/usr/sbin/birdc"
INITIAL_ZTIX_CONF = "# placeholder until ZT-IX's first apply\n"


def require_tool(path: str, package: str) -> None:
    if not Path(path).is_file():
        pytest.fail(f"{path} is missing: install the Debian package {package}", pytrace=False)


# Two reads of one reconfiguration's time differ by less than this (see reconfigured_since).
SAME_MOMENT = timedelta(milliseconds=50)


@dataclass(frozen=True)
class Reconfiguration:
    moment: datetime
    logged: int


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

    def last_reconfiguration(self) -> Reconfiguration:
        """When BIRD last took a configuration, and how many its log has recorded."""
        for _, text in self.birdc("show", "status").lines:
            if text.startswith("Last reconfiguration on"):
                at = text.removeprefix("Last reconfiguration on").strip()
                moment = datetime.fromisoformat(at)
                logged = self.log.read_text().count("Reconfigured") if self.log.is_file() else 0
                return Reconfiguration(moment, logged)
        raise AssertionError("show status has no 'Last reconfiguration' line")

    def reconfigured_since(self, before: Reconfiguration) -> bool:
        """Whether BIRD took a configuration after ``before`` was read.

        `show status` prints the reconfiguration's monotonic time converted to wall-clock
        time at each call (BIRD's tm_format_time: real now - (monotonic now - t)), so two
        reads of one reconfiguration can differ by a millisecond or so; a real one is later
        by far more, and is logged.
        """
        now = self.last_reconfiguration()
        return now.logged > before.logged or now.moment - before.moment > SAME_MOMENT

    def pending_undo(self) -> bool:
        return "unconfirmed" in self.birdc("configure", "status").output

    def deployed(self) -> dict[str, str]:
        if not self.config_dir.is_dir():
            return {}
        return {
            p.relative_to(self.config_dir).as_posix(): p.read_text()
            for p in self.config_dir.rglob("*")
            if p.is_file() and p.name != ".ztix-manifest.json"  # ZT-IX's, not BIRD's
        }

    def leftovers(self) -> list[str]:
        """Staging directories left next to config_dir."""
        return sorted(p.name for p in self.config_dir.parent.glob("*.staging-*"))


def stop_process(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def running_bird(root: Path, host_config: str | None = None) -> Iterator[Bird]:
    """Start a BIRD under ``root`` whose bird.conf includes ``<config_dir>/ztix.conf``.

    ``host_config`` replaces the default bird.conf body (it must include ztix.conf).
    """
    require_tool(BIRD, "bird2")
    require_tool(BIRDC, "bird2")
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
        return not server.reconfigured_since(first)

    try:
        wait_for("BIRD to answer on its socket", answers, 10, every=0.02)
        wait_for("BIRD to finish its first configuration", settled, 10, every=0.02)
        yield server
    finally:
        stop_process(process)


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
