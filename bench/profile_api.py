"""Profile: where the member's page spends its time, sampled by py-spy under wrk load.

    uv run python -m bench.profile_api [--seconds 10] [--connections 16] [--top 25] [--gil]
    uv run python -m bench.profile_api --cpu --seconds 4

The site of bench.api_load (10,000 join requests in a scratch PostgreSQL database, the
member with 120 of them) served by the real app under uvicorn in a thread of this process;
wrk loads ``GET /api/v1/requests?limit=100`` with the member's cookie while ``py-spy
record`` (run through ``uvx``, so nothing is added to the project) samples this process.
Prints the functions with the largest share of samples, inclusive and self: the top entries
docs/performance.md quotes. Not part of ``make bench``: a profile is for reading, not a
goal. py-spy samples every thread, waiting ones too (a thread blocked on PostgreSQL shows
as ``Connection.wait``), so shares are of wall time across the threads that serve.
``--cpu`` profiles nothing: it prints the CPU per request of this process, of PostgreSQL's
and Redis's processes and of wrk, for ``/healthz`` and the page (what the page costs the
machine, not only the API).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

from bench import api_load
from bench.common import DEFAULT_DSN, RedisServer, scratch_database, serve_in_thread
from ztix.api.app import create_app
from ztix.config import load_settings
from ztix.db import migrate
from ztix.db.session import Database
from ztix.zerotier.emulator import ControllerEmulator

SITE_PACKAGES = re.compile(r"\(/.*?/(?:site-packages|src|lib/python3\.\d+)/")


def top(raw: Path, count: int) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():  # py-spy's lines without a count (idle samples)
            continue
        frames = [SITE_PACKAGES.sub("(", f) for f in stack.split(";")]
        total += int(n)
        own[frames[-1]] += int(n)
        for frame in set(frames):
            inclusive[frame] += int(n)
    lines = [f"{total} samples", "", "inclusive:"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in inclusive.most_common(count)]
    lines += ["", "self:"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in own.most_common(count)]
    return "\n".join(lines)


def _cpu_of(names: tuple[str, ...]) -> dict[str, float]:
    """CPU seconds (user + system) so far of every process whose command is one of
    ``names``, summed by name (PostgreSQL's backends, Redis): what the page costs beyond
    this process. A process that ended between two readings is not counted."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = dict.fromkeys(names, 0.0)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        if comm in totals:
            fields = text[text.rindex(")") + 2 :].split()
            totals[comm] += (int(fields[11]) + int(fields[12])) / tick
    return totals


def cpu_per_request(wrk: list[str], url_health: str, url_page: str, seconds: float) -> None:
    """CPU per answered request of this process (the server), of PostgreSQL's and Redis's
    processes and of wrk (the client), each run at 4 connections."""
    wrk = [w for w in wrk if not w.startswith("-c")] + ["-c4", f"-d{seconds:g}s"]
    others = ("postgres", "redis-server")
    for _ in range(3):
        for name, url in (("/healthz", url_health), ("member page", url_page)):
            before, around = os.times(), _cpu_of(others)
            out = subprocess.run([*wrk, url], capture_output=True, text=True, check=True)
            after, later = os.times(), _cpu_of(others)
            found = re.search(r"(\d+) requests in", out.stdout)
            n = max(int(found.group(1)) if found else 0, 1)
            user = (after.user - before.user) / n * 1e3
            system = (after.system - before.system) / n * 1e3
            client = (
                after.children_user + after.children_system
                - before.children_user - before.children_system
            ) / n * 1e3  # fmt: skip
            rest = "  ".join(f"{k} {(later[k] - around[k]) / n * 1e3:.2f}" for k in others)
            print(f"{name:12} {n / seconds:7.0f} requests/s  {user + system:6.2f} ms CPU per "
                  f"request (user {user:.2f}, sys {system:.2f}); {rest}  wrk {client:.2f}",
                  flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_api")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="no profile: this process's CPU per request (user, sys) for /healthz and the "
        "page, three alternating rounds at 4 connections (an A/B of two checkouts on a "
        "noisy machine: run each, alternately)",
    )
    parser.add_argument(
        "--gil",
        action="store_true",
        help="sample only the thread holding the GIL: where the Python CPU goes, not wall time",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if shutil.which("uvx") is None or shutil.which("wrk") is None:
        parser.error("needs uvx (for py-spy) and wrk")
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="ztix-profile-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        url = stack.enter_context(scratch_database(args.dsn, "profile"))
        migrate.upgrade(url)
        emulator = stack.enter_context(ControllerEmulator(workdir / "zt"))
        redis = RedisServer(workdir)
        redis.start()
        stack.callback(redis.stop)
        config = api_load.site_config(url, emulator, redis, api_load.free_port())
        config["logging"] = {"level": "WARNING"}  # no access log: the app's own work
        config_file = workdir / "runtime-config.yaml"
        config_file.write_text(yaml.safe_dump(config))
        settings = load_settings(config_file)
        database = Database(url)
        stack.callback(database.dispose)
        networks = api_load.prepare_site(settings, database)
        api_load.load(url, settings, database, networks, 10_000, 120, 1)
        base = stack.enter_context(serve_in_thread(create_app(settings), lifespan=True))
        cookie, _ = api_load.login(base, api_load.OPERATOR, settings.auth.cookie_name)
        script = workdir / "load.lua"
        script.write_text(f'wrk.headers["Cookie"] = "{settings.auth.cookie_name}={cookie}"\n')
        wrk = ["wrk", "-t2", f"-c{args.connections}", "-s", str(script)]
        url_page = base + api_load.REQUESTS_PATH
        if args.cpu:
            cpu_per_request(wrk, base + "/healthz", url_page, args.seconds)
            return 0
        subprocess.run([*wrk, "-d3s", url_page], capture_output=True, check=True)  # warm-up
        raw = workdir / "profile.txt"
        spy = subprocess.Popen(
            ["uvx", "py-spy", "record", "--pid", str(os.getpid()), "--format", "raw",
             "--rate", "200", "--duration", f"{args.seconds + 2:g}", "--nonblocking",
             "--output", str(raw), *(["--gil"] if args.gil else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1)
        done = subprocess.run(
            [*wrk, f"-d{args.seconds:g}s", url_page], capture_output=True, text=True, check=True
        )
        spy.wait(timeout=120)
        print(done.stdout)
        print(top(raw, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
