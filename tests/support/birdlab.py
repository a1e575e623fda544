"""A small lab of real BIRD processes in network namespaces, for the route-server scenarios.

One namespace holds the route server, a Linux bridge (the peering LAN) and StayRTR on its
loopback; each member router gets its own namespace with a veth leg on the bridge. Every BIRD
runs in the foreground (``bird -f``) with its own control socket and pidfile, so the lab can
stop exactly the processes it started. ``Lab.close()`` ends them and deletes the namespaces;
use the lab as a context manager so that happens even when a test fails.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tests.support.waiting import wait_for

T = TypeVar("T")

TOOLS = ("bird", "birdc", "stayrtr", "ip")


def require_tools() -> None:
    """Fail (never skip) with a clear message when a real part is missing (DESIGN §8)."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        raise RuntimeError(
            f"missing tools for the route-server tests: {', '.join(missing)} "
            "on PATH (scripts/install-system-deps.sh installs bird2, stayrtr and iproute2)"
        )
    if os.geteuid() != 0:
        raise RuntimeError("the live BIRD scenarios need root (network namespaces)")


def run(*args: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=timeout)


@dataclass
class Bird:
    name: str
    namespace: str
    config: Path
    socket: Path
    pidfile: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def birdc(self, *command: str, check: bool = True) -> str:
        result = run("birdc", "-s", str(self.socket), *command, check=False)
        if check and result.returncode != 0:
            raise AssertionError(
                f"birdc {' '.join(command)} on {self.name} failed ({result.returncode}): "
                f"{result.stdout}{result.stderr}"
            )
        return result.stdout

    def protocol_state(self, protocol: str) -> str:
        """The BGP state column of `show protocols` (Established, Active, ...)."""
        out = self.birdc("show", "protocols", protocol, check=False)
        for line in out.splitlines():
            cols = line.split()
            if cols and cols[0] == protocol:
                # Name Proto Table State Since Info; "Since" is two words with iso long.
                info = 6 if len(cols) > 4 and re.fullmatch(r"\d{4}-\d\d-\d\d", cols[4]) else 5
                return " ".join(cols[info:])
        return ""

    def established(self, protocol: str) -> bool:
        return self.protocol_state(protocol).startswith("Established")


@dataclass
class Lab:
    """Namespaces, links and processes of one scenario run; all removed by close()."""

    workdir: Path
    tag: str = field(default_factory=lambda: f"zx{os.getpid() % 10000:04d}{secrets.token_hex(1)}")
    namespaces: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    birds: dict[str, Bird] = field(default_factory=dict)
    _links: int = 0

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- network
    def namespace(self, role: str) -> str:
        name = f"{self.tag}-{role}"
        run("ip", "netns", "add", name)
        self.namespaces.append(name)
        run("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def bridge(self, namespace: str, addresses: Sequence[str]) -> None:
        """The peering LAN: a bridge in the route server's namespace holding its addresses."""
        run("ip", "-n", namespace, "link", "add", "lan", "type", "bridge")
        # No multicast snooping: IPv6 neighbour discovery must flood between the legs.
        run("ip", "-n", namespace, "link", "set", "lan", "type", "bridge", "mcast_snooping", "0")
        run("ip", "-n", namespace, "link", "set", "lan", "up")
        for address in addresses:
            self._address(namespace, "lan", address)

    def attach(self, member_ns: str, bridge_ns: str, addresses: Sequence[str]) -> None:
        """A veth from the member's namespace to the LAN bridge."""
        self._links += 1
        outer, inner = f"{self.tag}b{self._links}", f"{self.tag}m{self._links}"
        run("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
        run("ip", "link", "set", outer, "netns", bridge_ns)
        run("ip", "link", "set", inner, "netns", member_ns)
        run("ip", "-n", bridge_ns, "link", "set", outer, "master", "lan", "up")
        run("ip", "-n", member_ns, "link", "set", inner, "name", "lan")
        run("ip", "-n", member_ns, "link", "set", "lan", "up")
        for address in addresses:
            self._address(member_ns, "lan", address)

    @staticmethod
    def _address(namespace: str, device: str, address: str) -> None:
        extra = ["nodad"] if ":" in address else []
        run("ip", "-n", namespace, "addr", "add", address, "dev", device, *extra)

    # -------------------------------------------------------------- processes
    def spawn(self, namespace: str, argv: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            process = subprocess.Popen(
                ["ip", "netns", "exec", namespace, *argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.processes.append(process)
        return process

    def stayrtr(self, namespace: str, cache: Path, port: int) -> None:
        self.spawn(
            namespace,
            [
                "stayrtr",
                "-bind",
                f"127.0.0.1:{port}",
                "-cache",
                str(cache),
                "-checktime=false",
                "-refresh",
                "1",
                "-metrics.addr",
                "127.0.0.1:0",
            ],
            self.workdir / "stayrtr.log",
        )
        # Listening before any BIRD dials it: a refused first dial costs the RTR protocol
        # its whole retry time (a busy machine starts StayRTR slowly).
        wait_for(
            f"StayRTR to listen on {port} in {namespace}",
            lambda: run(
                "ip", "netns", "exec", namespace, "ss", "-Htln", f"sport = :{port}"
            ).stdout.strip(),
            20,
        )

    def bird(self, name: str, namespace: str, config_text: str) -> Bird:
        config = self.workdir / f"{name}.conf"
        config.write_text(config_text)
        return self.bird_from(name, namespace, config)

    def bird_from(self, name: str, namespace: str, config: Path) -> Bird:
        bird = Bird(
            name=name,
            namespace=namespace,
            config=config,
            socket=self.workdir / f"{name}.ctl",
            pidfile=self.workdir / f"{name}.pid",
            log=self.workdir / f"{name}.out",
        )
        check = run("bird", "-p", "-c", str(config), check=False)
        if check.returncode != 0:
            raise AssertionError(f"{name}: bird -p refused {config}: {check.stderr}")
        bird.process = self.spawn(
            namespace,
            ["bird", "-f", "-c", str(config), "-s", str(bird.socket), "-P", str(bird.pidfile)],
            bird.log,
        )
        wait_for(
            f"{name}'s control socket",
            lambda: bird.socket.exists() and bird.birdc("show", "status", check=False),
            10,
        )
        self.birds[name] = bird
        return bird

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()
        for namespace in reversed(self.namespaces):
            run("ip", "netns", "del", namespace, check=False)
        self.namespaces.clear()
