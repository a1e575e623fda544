"""A real zerotier-one 1.14.1 controller for the tests, inside a network namespace of its own.

The binary is looked up at ``<repo>/../shared/tools/zerotier-one-1.14.1/zerotier-one`` unless
``ZTIX_TEST_ZEROTIER_ONE`` names another. It runs exactly as its README says: in a fresh
network namespace whose only link is a veth pair to the host, so it can never reach
ZeroTier's root servers. Names and the /30 subnet are unique to this process (pytest-xdist
workers and other engineers' runs share the machine): interface names carry the PID, and the
subnet is the first /30 of ``10.203.0.0/16`` (starting at one derived from the PID) that no
host interface uses, picked under an exclusive lock.

When the binary or the root privileges the namespace needs are missing, :func:`start` raises
an error naming what is missing: tests that need the real controller fail, never skip.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = REPO.parent / "shared" / "tools" / "zerotier-one-1.14.1" / "zerotier-one"
BINARY_ENV = "ZTIX_TEST_ZEROTIER_ONE"
POOL = ipaddress.ip_network("10.203.0.0/16")
LOCK_FILE = Path(tempfile.gettempdir()) / "ztix-test-netns.lock"
PORT = 9993


class RealControllerMissing(RuntimeError):
    """What the real-controller tests need is not there (binary, root, ``ip``)."""


def binary_path() -> Path:
    return Path(os.environ.get(BINARY_ENV) or DEFAULT_BINARY)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=True, capture_output=True, text=True)


def _used_subnets() -> set[ipaddress.IPv4Network]:
    out = _run("ip", "-j", "-4", "addr", "show").stdout
    used = set()
    for link in json.loads(out or "[]"):
        for info in link.get("addr_info", []):
            net = ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}").network
            if isinstance(net, ipaddress.IPv4Network) and net.overlaps(POOL):
                used.add(net)
    return used


@dataclass
class RealController:
    """A running zerotier-one; :attr:`url` and :attr:`token` reach its API from the host."""

    namespace: str
    host_link: str
    subnet: ipaddress.IPv4Network
    home: Path
    process: subprocess.Popen[bytes] | None = None
    log: list[str] = field(default_factory=list)

    @property
    def host_ip(self) -> str:
        return str(self.subnet.network_address + 1)

    @property
    def node_ip(self) -> str:
        return str(self.subnet.network_address + 2)

    @property
    def url(self) -> str:
        return f"http://{self.node_ip}:{PORT}"

    @property
    def token_file(self) -> Path:
        return self.home / "authtoken.secret"

    @property
    def token(self) -> str:
        return self.token_file.read_text(encoding="utf-8").strip()

    def rotate_token(self, token: str) -> None:
        """Rotate the API token: stop zerotier-one, rewrite ``authtoken.secret``, start it
        again (it reads the file at start only). The stop is a SIGKILL: a graceful one waits
        out every client's keep-alive (5 s); :meth:`shutting_down` covers that window."""
        self._kill(hard=True)
        tmp = self.token_file.with_name(".authtoken.tmp")
        tmp.write_text(token, encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(self.token_file)
        self._spawn()
        self.wait_ready()

    @contextlib.contextmanager
    def shutting_down(self) -> Iterator[None]:
        """The body runs while zerotier-one shuts down after SIGTERM (an idle keep-alive
        connection holds it there); afterwards it is started again."""
        assert self.process is not None
        with httpx.Client() as idle:
            idle.get(f"{self.url}/health")
            os.killpg(self.process.pid, signal.SIGTERM)
            time.sleep(0.2)
            try:
                yield
            finally:
                if self.process.poll() is not None:
                    raise AssertionError("zerotier-one exited before the body finished")
        self.restart()

    # -- process -----------------------------------------------------------------------------

    def _spawn(self) -> None:
        self.process = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                self.namespace,
                str(binary_path()),
                "-U",
                f"-p{PORT}",
                str(self.home),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until ``GET /controller`` answers ``databaseReady: true``."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"zerotier-one exited with {self.process.returncode}")
            if self.token_file.exists():
                try:
                    answer = httpx.get(
                        f"{self.url}/controller",
                        headers={"X-ZT1-Auth": self.token},
                        timeout=1.0,
                    )
                    if answer.status_code == 200 and answer.json().get("databaseReady") is True:
                        return
                    last = f"HTTP {answer.status_code}"
                except (httpx.HTTPError, ValueError) as exc:
                    last = type(exc).__name__
            time.sleep(0.1)
        raise TimeoutError(f"zerotier-one not ready after {timeout:g} s ({last})")

    def _kill(self, *, hard: bool = False) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL if hard else signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        """Stop and start the process on the same home (identity, token file, networks)."""
        self._kill()
        self._spawn()
        self.wait_ready()

    def stop(self) -> None:
        self._kill()
        with contextlib.suppress(subprocess.CalledProcessError):
            _run("ip", "netns", "del", self.namespace)  # removes the veth pair too
        shutil.rmtree(self.home, ignore_errors=True)


def start() -> RealController:
    """Start zerotier-one in a namespace of its own and wait until its database is ready."""
    binary = binary_path()
    if not binary.is_file() or not os.access(binary, os.X_OK):
        raise RealControllerMissing(
            f"the real zerotier-one controller binary is missing: {binary} "
            f"(set {BINARY_ENV} to its path)"
        )
    if os.geteuid() != 0:
        raise RealControllerMissing(
            "the real-controller tests need root to create a network namespace"
        )
    if shutil.which("ip") is None:
        raise RealControllerMissing("the real-controller tests need iproute2's `ip`")
    pid = os.getpid()
    namespace, host_link = f"ztix-zt-{pid}", f"ztxh{pid}"[:15]
    home = Path(tempfile.mkdtemp(prefix="ztix-zt-real-"))
    subnets = list(POOL.subnets(new_prefix=30))
    with LOCK_FILE.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        used = _used_subnets()
        first = pid % len(subnets)
        subnet = next(
            (s for s in subnets[first:] + subnets[:first] if s not in used),
            None,
        )
        if subnet is None:
            raise RuntimeError(f"no free /30 left in {POOL}")
        ctl = RealController(namespace, host_link, subnet, home)
        try:
            _run("ip", "netns", "add", namespace)
            _run("ip", "-n", namespace, "link", "set", "lo", "up")
            _run(
                "ip",
                "link",
                "add",
                host_link,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                namespace,
            )
            _run("ip", "addr", "add", f"{ctl.host_ip}/30", "dev", host_link)
            _run("ip", "link", "set", host_link, "up")
            _run("ip", "-n", namespace, "addr", "add", f"{ctl.node_ip}/30", "dev", "eth0")
            _run("ip", "-n", namespace, "link", "set", "eth0", "up")
        except subprocess.CalledProcessError as exc:
            ctl.stop()
            raise RuntimeError(f"cannot set up the test namespace: {exc.stderr.strip()}") from exc
    local_conf = {"settings": {"allowManagementFrom": [f"{ctl.host_ip}/32"]}}
    (home / "local.conf").write_text(json.dumps(local_conf), encoding="utf-8")
    try:
        ctl._spawn()
        ctl.wait_ready()
    except BaseException:
        ctl.stop()
        raise
    return ctl
