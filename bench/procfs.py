"""Processes seen through /proc: a process tree, its memory (VmRSS, PSS, VmHWM) and CPU.

Shared by the benchmarks that run ZT-IX as subprocesses (bench.api_load, bench.memory).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_SECONDS = 0.2
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid …: comm may hold spaces and parentheses.
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def process_tree(root: int, children: dict[int, list[int]] | None = None) -> list[int]:
    children = _children_map() if children is None else children
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(a.decode(errors="replace") for a in raw.split(b"\0") if a)


def role(pid: int, root: int) -> str:
    """A short name for a process of a tree: what a reader of the table can place."""
    cmd = _cmdline(pid)
    if pid == root:
        return "main (`python -m ztix.cli …`)"
    if "multiprocessing.spawn" in cmd or "spawn_main" in cmd:
        return "uvicorn worker"
    if "resource_tracker" in cmd:
        return "multiprocessing resource tracker"
    if "ztix.cli" in cmd:
        return "Celery pool process (fork)"
    return cmd[:60]


@dataclass
class Snapshot:
    """The processes of one tree at one moment: VmRSS (and PSS, VmHWM) per process, KiB."""

    rss: dict[int, int]
    pss: dict[int, int] = field(default_factory=dict)
    hwm: dict[int, int] = field(default_factory=dict)
    roles: dict[int, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rss.values())

    @property
    def pss_total(self) -> int:
        return sum(self.pss.values())

    @property
    def hwm_total(self) -> int:
        return sum(self.hwm.values())


def snapshot(root: int, *, detail: bool = False) -> Snapshot:
    pids = process_tree(root)
    snap = Snapshot(rss={p: _status_kib(p, "VmRSS") for p in pids})
    if detail:
        snap.pss = {p: _pss_kib(p) for p in pids}
        snap.hwm = {p: _status_kib(p, "VmHWM") for p in pids}
        snap.roles = {p: role(p, root) for p in pids}
    return snap


def cpu_seconds(root: int) -> float:
    return sum(_cpu_ticks(p) for p in process_tree(root)) / CLK_TCK


class MemorySampler:
    """Samples the total VmRSS of some process trees every ``SAMPLE_SECONDS``, in a thread,
    while it is entered; keeps each tree's peak."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self.peak: dict[str, int] = dict.fromkeys(roots, 0)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def _run(self) -> None:
        while True:
            children = _children_map()
            for name, root in self.roots.items():
                total = sum(_status_kib(p, "VmRSS") for p in process_tree(root, children))
                self.peak[name] = max(self.peak[name], total)
            self.samples += 1
            if self._stop.wait(SAMPLE_SECONDS):
                return

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
