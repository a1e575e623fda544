"""Benchmark: ways to make a new route-server file set durable (issue 17, P3).

    uv run python -m bench.file_durability [--files 2002] [--rounds 7] [--dir /tmp]

A first apply writes one file per member (2,002 at 2,000 members, about 2 kB each) into a
staging directory and must have them on disk before the swap. Each way below writes the
same set into a fresh directory under ``--dir`` (the same file system as the route
server's config_dir, here the root ext4), then fsyncs the directories; the rounds
interleave the ways so the machine's load hits them alike. Wall and CPU time (all threads
of this process) per way: medians over the rounds, then every round. Not in ``make bench``:
it only measures the file system, and ``local.py`` uses what it showed.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CONTENT = ("x" * 2100 + "\n").encode()


def _fsync(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _create(path: str, sync: bool) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        os.write(descriptor, CONTENT)
        if sync:
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _paths(root: str, files: int) -> list[str]:
    Path(root, "peers").mkdir(parents=True)
    return [f"{root}/peers/AS{i}.conf" for i in range(files)]


def _directories(root: str) -> None:
    _fsync(f"{root}/peers")
    _fsync(root)


def write_then_fsync_16(root: str, files: int) -> None:
    """local.py's way: write every file, then fsync them from 16 threads."""
    paths = _paths(root, files)
    for path in paths:
        _create(path, sync=False)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(_fsync, paths))
    _directories(root)


def _threads(root: str, files: int, threads: int) -> None:
    paths = _paths(root, files)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda path: _create(path, sync=True), paths))
    _directories(root)


def create_write_fsync_16(root: str, files: int) -> None:
    """Each file created, written and fsynced by one of 16 threads."""
    _threads(root, files, 16)


def create_write_fsync_32(root: str, files: int) -> None:
    _threads(root, files, 32)


def write_then_syncfs(root: str, files: int) -> None:
    """Write every file, then one syncfs(2) of the file system (syncs others' data too)."""
    for path in _paths(root, files):
        _create(path, sync=False)
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    descriptor = os.open(root, os.O_RDONLY)
    try:
        if libc.syncfs(descriptor) != 0:
            raise OSError(ctypes.get_errno(), "syncfs failed")
    finally:
        os.close(descriptor)
    _directories(root)


def write_without_fsync(root: str, files: int) -> None:
    """No durability at all: what creating the files alone costs."""
    for path in _paths(root, files):
        _create(path, sync=False)


WAYS: dict[str, Callable[[str, int], None]] = {
    "write all, then fsync each from 16 threads (local.py)": write_then_fsync_16,
    "create + write + fsync per file, 16 threads": create_write_fsync_16,
    "create + write + fsync per file, 32 threads": create_write_fsync_32,
    "write all, then one syncfs": write_then_syncfs,
    "write all, no fsync (not durable)": write_without_fsync,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2002)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--dir", default="/tmp")
    args = parser.parse_args(argv)
    wall: dict[str, list[float]] = {name: [] for name in WAYS}
    cpu: dict[str, list[float]] = {name: [] for name in WAYS}
    work = tempfile.mkdtemp(prefix="ztix-durability-", dir=args.dir)
    try:
        for round_ in range(args.rounds):
            for index, (name, way) in enumerate(WAYS.items()):
                root = f"{work}/{round_}-{index}"
                started, used = time.perf_counter(), time.process_time()
                way(root, args.files)
                wall[name].append((time.perf_counter() - started) * 1e3)
                cpu[name].append((time.process_time() - used) * 1e3)
                shutil.rmtree(root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"{args.files:,} files, {args.rounds} rounds; load average now {load}")
    print("| way | wall (median) | CPU (median) | wall, each round |")
    print("|---|---:|---:|---|")
    for name in WAYS:
        rounds = " ".join(f"{value:,.0f}" for value in wall[name])
        print(
            f"| {name} | {statistics.median(wall[name]):,.0f} ms "
            f"| {statistics.median(cpu[name]):,.0f} ms | {rounds} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
