"""Benchmark: how long `make lab` takes to come up, and `make lab-down` to remove it.

    sudo uv run python -m bench.lab [--runs 1]

The full lab (two route servers, three member routers, ZT-IX serving on a free port, files
in a temporary directory, namespaces prefixed ``ztbench``): the time ``ztix.lab.runner.up``
takes until every BGP session is Established, the time of a second ``up`` (it only reports),
and of ``down``; then checks that no namespace of the prefix is left. The load average at
the start is printed with the figures: on a shared machine it explains most of the spread.
Goal: up in under two minutes. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

from tests.support.services import free_port

from ztix.lab import netns, plan, runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    for run in range(args.runs):
        root = Path(tempfile.mkdtemp(prefix="ztbench-", dir="/tmp")) / "lab"
        lab = dataclasses.replace(
            plan.full(root), prefix="ztbench", http_port=free_port(), controller_port=free_port()
        )
        load = os.getloadavg()[0]
        started = time.monotonic()
        try:
            runner.up(lab, lambda _line: None, timeout=300)
            up = time.monotonic() - started
            again = time.monotonic()
            runner.up(lab, lambda _line: None)
            second = time.monotonic() - again
        finally:
            gone = time.monotonic()
            runner.down(lab, lambda _line: None)
            down = time.monotonic() - gone
            root.parent.rmdir()
        left = netns.namespaces(lab.prefix)
        print(
            f"run {run + 1}: load {load:.2f}; up {up:.1f} s (goal < 120 s), second up "
            f"{second:.1f} s, down {down:.1f} s, namespaces left: {len(left)}"
        )


if __name__ == "__main__":
    main()
