"""The embedded default's route server: one BIRD 2 and one StayRTR run by ``ztix serve``.

Everything lives under ``routeservers.embedded.state_dir`` (var/routeserver): the host's
``bird.conf`` (written on every start, it is ours), the control socket, ZT-IX's config
directory (``ztix/live``, written by the ordinary local-transport apply), the ROA file
StayRTR serves (a small sample written when missing) and both programs' logs. BIRD runs in
the foreground (``bird -f``) with its own socket and pidfile, so stopping the app stops
exactly the processes it started. Where the programs are missing, :func:`unavailable` says
why in one line and the caller carries on without them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ztix.config import EmbeddedRouteServerConfig
from ztix.routeserver import control
from ztix.routeserver.model import RouteServer
from ztix.routeserver.render import render_host_config

# Until ZT-IX's first apply replaces it: BIRD needs the included file to exist.
PLACEHOLDER = "# Replaced by ZT-IX's first apply.\n"

# ROAs of the sample file: the documentation examples of the lab's members (the lab writes
# its own). AS213035's 193.0.0.0/21 is valid; 193.0.8.0/23 belongs to AS3333.
SAMPLE_ROAS = [
    {"prefix": "193.0.0.0/21", "maxLength": 21, "asn": "AS213035"},
    {"prefix": "193.0.8.0/23", "maxLength": 23, "asn": "AS3333"},
    {"prefix": "2001:67c:2e8::/48", "maxLength": 48, "asn": "AS213035"},
]


class EmbeddedError(Exception):
    """The embedded route server could not start; the message is one line for the operator."""


def unavailable(config: EmbeddedRouteServerConfig) -> str | None:
    """Why the embedded route server cannot run on this machine, or None when it can."""
    needed = [("bird", config.bird), ("birdc", config.birdc)]
    if config.rtr_port:
        needed.append(("stayrtr", config.stayrtr))
    missing = [name for name, path in needed if not _executable(path)]
    if missing:
        return (
            f"{', '.join(missing)} not installed (Debian: bird2"
            f"{', stayrtr' if 'stayrtr' in missing else ''}; scripts/install-system-deps.sh)"
        )
    return None


def _executable(path: str) -> bool:
    found = shutil.which(path)
    return found is not None and os.access(found, os.X_OK)


class EmbeddedRouteServer:
    """Start and stop the embedded BIRD and StayRTR of ``routeservers.embedded``."""

    def __init__(self, config: EmbeddedRouteServerConfig) -> None:
        self._config = config
        rs = config.server()
        # What the host's bird.conf needs: its name, router ID and ZT-IX's directory.
        self._server = RouteServer(
            name=rs.name,
            asn=rs.asn,
            router_id=rs.router_id,
            ipv4=rs.ipv4,
            ipv6=rs.ipv6,
            ipv4_prefix=ipaddress.IPv4Network(rs.ipv4),
            ipv6_prefix=ipaddress.IPv6Network(rs.ipv6),
            config_dir=str(rs.config_dir),
        )
        self._root = config.root
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def socket(self) -> Path:
        return self._root / "bird.ctl"

    @property
    def main_config(self) -> Path:
        return self._root / "bird.conf"

    def start(self) -> str:
        """Start both programs; a one-line description of what runs. Raises EmbeddedError."""
        self._root.mkdir(parents=True, exist_ok=True)
        config_dir = Path(self._server.config_dir)
        config_dir.parent.mkdir(parents=True, exist_ok=True)
        if not (config_dir / "ztix.conf").exists():
            config_dir.mkdir(exist_ok=True)
            (config_dir / "ztix.conf").write_text(PLACEHOLDER, encoding="utf-8")
        self.main_config.write_text(
            render_host_config(self._server, log_file=str(self._root / "bird.log")),
            encoding="utf-8",
        )
        self._end_stale()
        try:
            rtr = self._start_stayrtr()
            self._start_bird()
        except BaseException:  # a failure, or serve told to stop meanwhile: nothing left behind
            self.stop()
            raise
        port = self._config.bgp_port
        return (
            f"embedded route server {self._server.name} AS{self._server.asn}: BIRD on "
            f"{self.socket} (BGP port {port}){rtr}; files in {self._root} (not for production)"
        )

    def _end_stale(self) -> None:
        """End what an earlier ``ztix serve`` on this state directory left running (killed
        before it could stop them): only pids from our own pidfiles whose command line names
        this directory."""
        for pidfile in (self._root / "bird.pid", self._root / "stayrtr.pid"):
            try:
                pid = int(pidfile.read_text(encoding="ascii").strip())
            except (OSError, ValueError):
                continue
            if str(self._root) not in _cmdline(pid):
                continue  # the pid is someone else's now
            owner = _parent(pid)
            if owner is not None and "serve" in _cmdline(owner) and "ztix" in _cmdline(owner):
                raise EmbeddedError(f"another ztix serve (pid {owner}) runs it already")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            pidfile.unlink(missing_ok=True)

    def _start_stayrtr(self) -> str:
        port = self._config.rtr_port
        if not port:
            return ""
        roas = self._config.roas
        if not roas.exists():
            roas.parent.mkdir(parents=True, exist_ok=True)
            roas.write_text(json.dumps({"roas": SAMPLE_ROAS}, indent=2) + "\n", encoding="utf-8")
        if _listening(port):
            raise EmbeddedError(f"127.0.0.1:{port} (routeservers.embedded.rtr_port) is taken")
        self._spawn(
            [
                self._config.stayrtr,
                "-bind",
                f"127.0.0.1:{port}",
                "-cache",
                str(roas),
                "-checktime=false",
                "-refresh",
                "10",
                "-metrics.addr",
                "127.0.0.1:0",
            ],
            self._root / "stayrtr.log",
        )
        (self._root / "stayrtr.pid").write_text(f"{self._processes[-1].pid}\n", encoding="ascii")
        self._wait("StayRTR to listen", lambda: _listening(port))
        return f", StayRTR on 127.0.0.1:{port} serving {roas}"

    def _start_bird(self) -> None:
        if self.socket.exists():
            if self._answers():
                raise EmbeddedError(
                    f"a BIRD already answers on {self.socket}: stop it first "
                    f"(pid in {self._root / 'bird.pid'})"
                )
            self.socket.unlink()
        check = subprocess.run(  # noqa: S603 - fixed argv
            [self._config.bird, "-p", "-c", str(self.main_config)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if check.returncode != 0:
            raise EmbeddedError(f"bird -p refused {self.main_config}: {check.stderr.strip()}")
        self._spawn(
            [
                self._config.bird,
                "-f",
                "-c",
                str(self.main_config),
                "-s",
                str(self.socket),
                "-P",
                str(self._root / "bird.pid"),
            ],
            self._root / "bird.out",
        )
        self._wait("BIRD to answer on its socket", self._answers)

    def _answers(self) -> bool:
        reply = control.command(str(self.socket), "show status", timeout=5)
        return reply.exit_status == 0 and "up and running" in reply.output

    def _spawn(self, argv: list[str], log: Path) -> None:
        with log.open("ab") as out:
            try:
                process = subprocess.Popen(  # noqa: S603 - fixed argv
                    argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            except OSError as exc:
                raise EmbeddedError(f"cannot run {argv[0]}: {exc}") from exc
        self._processes.append(process)

    def _wait(self, what: str, ready: Callable[[], bool], timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self._processes:
                if process.poll() is not None:
                    program = process.args[0] if isinstance(process.args, list) else "?"
                    raise EmbeddedError(
                        f"{Path(str(program)).name} exited ({process.returncode}) "
                        f"while waiting for {what}; see the logs in {self._root}"
                    )
            if ready():
                return
            time.sleep(0.1)
        raise EmbeddedError(f"gave up waiting {timeout:.0f} s for {what}; logs in {self._root}")

    def stop(self) -> None:
        """End the processes this object started (BIRD first), never any other."""
        for process in reversed(self._processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self._processes):
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._processes.clear()


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _parent(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    return None


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0
