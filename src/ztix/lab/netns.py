"""Network namespaces, the bridge that is the peering LAN, veth links, and processes.

Every name starts with the plan's prefix, so ``remove_namespaces`` finds what an earlier run
left even when its state file is gone; processes are ended only by the pids this lab wrote.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


class LabError(Exception):
    """A step of the lab failed; the message says which and why."""


def run(*args: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(  # noqa: S603 - argv lists built here
        args, capture_output=True, text=True, check=False, timeout=timeout
    )
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done


def namespaces(prefix: str) -> list[str]:
    out = run("ip", "netns", "list", check=False).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [n for n in names if n.startswith(prefix + "-")]


def add_namespace(name: str) -> None:
    run("ip", "netns", "add", name)
    run("ip", "-n", name, "link", "set", "lo", "up")


def remove_namespaces(prefix: str) -> list[str]:
    """Delete the lab's namespaces (their veth ends go with them)."""
    gone = namespaces(prefix)
    for name in gone:
        run("ip", "netns", "del", name, check=False)
    return gone


def bridge(namespace: str) -> None:
    """The peering LAN: a bridge alone in its namespace, every router a veth leg of it."""
    run("ip", "-n", namespace, "link", "add", "lan", "type", "bridge")
    # No multicast snooping: IPv6 neighbour discovery must flood between the legs.
    run("ip", "-n", namespace, "link", "set", "lan", "type", "bridge", "mcast_snooping", "0")
    run("ip", "-n", namespace, "link", "set", "lan", "up")


def attach(prefix: str, index: int, lan_ns: str, router_ns: str, addresses: Sequence[str]) -> None:
    """A veth from ``router_ns`` (named ``lan`` there) to the bridge in ``lan_ns``."""
    outer, inner = f"{prefix}b{index}", f"{prefix}r{index}"
    run("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
    run("ip", "link", "set", outer, "netns", lan_ns)
    run("ip", "link", "set", inner, "netns", router_ns)
    run("ip", "-n", lan_ns, "link", "set", outer, "master", "lan", "up")
    run("ip", "-n", router_ns, "link", "set", inner, "name", "lan")
    run("ip", "-n", router_ns, "link", "set", "lan", "up")
    for address in addresses:
        extra = ["nodad"] if ":" in address else []
        run("ip", "-n", router_ns, "addr", "add", address, "dev", "lan", *extra)


def spawn(
    argv: Sequence[str], log: Path, *, namespace: str | None = None, new_session: bool = False
) -> int:
    """Start a program in the background (in ``namespace``); its pid."""
    command = ["ip", "netns", "exec", namespace, *argv] if namespace else list(argv)
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - argv lists built here
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=new_session,
        )
    return process.pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child of ours that exited stays a zombie until reaped: not alive.
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    return True


def stop(pids: Sequence[int], *, group: bool = False, timeout: float = 10) -> None:
    """SIGTERM these pids (their process groups with ``group``), then SIGKILL stragglers."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM) if group else os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL) if group else os.kill(pid, signal.SIGKILL)
