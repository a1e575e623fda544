"""Benchmark: the memory ZT-IX's processes take, as deployed (issue 17, P6).

    uv run python -m bench.memory [--short] [--requests 10000] [--load-seconds 10]
                                  [--workers 2] [--concurrency 4] [--write-docs]

The site of bench.api_load (a scratch PostgreSQL database loaded with join requests, a
private Redis, the ZeroTier controller emulator in this process), served as the compose file
serves it: ``ztix serve --workers N`` (uvicorn's supervisor and N HTTP worker processes) and
``ztix worker --pool prefork --concurrency C`` (Celery's main process and C forks).

Measured from /proc (bench.procfs): VmRSS and PSS of every process of both trees, after
start-up once they have settled ("at rest"), and of the API again after the member's page
(``GET /api/v1/requests?limit=100``) has been under load (wrk, 16 connections) and the
API has settled. Goals (issue 17): an HTTP worker at most 120 MB at rest and 150 MB after
the load, `ztix serve`'s own process at most 60 MB, the Celery tree at most 300 MB at
concurrency 4 (MB = 10^6 bytes; the tables give MiB too). The tree's figure is its PSS:
VmRSS summed over a parent and its forks counts each shared page once per process.

The processes run on compiled bytecode, as the image runs them (:func:`bytecode_as_deployed`;
a process that compiles its modules from source holds about 15 MB more).

The report goes to ``bench/results/memory.md`` and, with ``--write-docs``, into the
``bench:memory`` section of docs/performance.md. Everything it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench import api_load, rows
from bench.common import (
    DEFAULT_DSN,
    DOCS,
    Processes,
    RedisServer,
    Run,
    anchor,
    free_port,
    scratch_database,
    write_report,
)
from bench.procfs import Snapshot, snapshot
from ztix.config import load_settings
from ztix.db import migrate
from ztix.db.session import Database
from ztix.zerotier.emulator import ControllerEmulator

MB = 1_000_000


def mb(kib: int) -> float:
    return kib * 1024 / MB


@dataclass
class Measured:
    api_started: Snapshot
    api_after: Snapshot
    worker_started: Snapshot
    api_pid: int
    worker_pid: int
    requests_served: int
    workers: int
    concurrency: int
    dataset: int


def http_workers(snap: Snapshot) -> dict[int, int]:
    return {p: kib for p, kib in snap.rss.items() if snap.roles.get(p) == "uvicorn worker"}


# What the served processes import, compiled first (bytecode_as_deployed).
_WARM_UP = """
import importlib
for name in (
    "ztix.cli.main", "ztix.supervisor", "ztix.api.main", "ztix.jobs.celery_app",
    "ztix.jobs.celery_publish", "uvicorn.main", "uvicorn.supervisors.multiprocess",
    "uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.http.h11_impl",
    "uvicorn.loops.uvloop", "uvicorn.lifespan.on", "celery.bin.celery", "celery.apps.worker",
    "celery.worker.worker", "celery.concurrency.prefork", "celery.beat",
    "kombu.transport.redis", "celery.app.amqp",
):
    try:
        importlib.import_module(name)
    except ImportError:
        pass
# What they import later (a worker's spawn, the first request) lives in the same packages:
# compile those packages whole, not the dev tools beside them in the environment.
import compileall, os, sys, sysconfig
import ztix
purelib = sysconfig.get_paths()["purelib"]
packages = {os.path.dirname(ztix.__file__)}
for module in list(sys.modules.values()):
    file = getattr(module, "__file__", None) or ""
    if file.startswith(purelib + os.sep):
        top = os.path.join(purelib, os.path.relpath(file, purelib).split(os.sep)[0])
        packages.add(top)
for path in sorted(packages):
    if os.path.isdir(path):
        compileall.compile_dir(path, quiet=1, workers=0)
"""


def bytecode_as_deployed(config_file: Path) -> None:
    """Compile the modules the served processes import, as the image has them.

    deploy/Dockerfile builds the virtualenv with ``UV_COMPILE_BYTECODE=1`` and runs with
    ``PYTHONDONTWRITEBYTECODE=1``: every process reads compiled bytecode and writes none.
    A development environment with ``PYTHONDONTWRITEBYTECODE=1`` and no bytecode (``uv
    sync``'s default) makes every process compile every module from source at start-up,
    which leaves about 15 MB more in each HTTP worker than production holds (measured:
    docs/performance.md, issue 17). One process imports them with bytecode writing on
    (the files are the ``__pycache__`` ``uv sync --compile-bytecode`` writes); the served
    processes then run as the image does."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["ZTIX_CONFIG"] = str(config_file)
    subprocess.run([sys.executable, "-c", _WARM_UP], env=env, check=True, timeout=120)


def measure(args: argparse.Namespace) -> Measured:
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="ztix-memory-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        url = stack.enter_context(scratch_database(args.dsn, "memory"))
        migrate.upgrade(url)
        emulator = stack.enter_context(ControllerEmulator(workdir / "zt"))
        redis = RedisServer(workdir)
        redis.start()
        stack.callback(redis.stop)
        port = free_port()
        config_file = workdir / "runtime-config.yaml"
        config_file.write_text(yaml.safe_dump(api_load.site_config(url, emulator, redis, port)))
        settings = load_settings(config_file)
        database = Database(url)
        stack.callback(database.dispose)
        networks = api_load.prepare_site(settings, database)
        print(f"[site] loading {args.requests:,} requests", file=sys.stderr)
        api_load.load(url, settings, database, networks, args.requests, 120, 1)

        print("[site] bytecode compiled as the image has it", file=sys.stderr)
        bytecode_as_deployed(config_file)
        procs = Processes(workdir, config_file)
        stack.callback(procs.stop)
        worker = procs.spawn(
            "worker", "worker", "--pool", "prefork", "--concurrency", str(args.concurrency)
        )
        serve = procs.spawn("serve", "serve", "--host", "127.0.0.1", "--port", str(port),
                            "--workers", str(args.workers))  # fmt: skip
        procs.wait_for_log("worker", r"celery@\S+ ready\.", timeout=120)
        procs.wait_for_log(
            "serve", r"Application startup complete", timeout=120, count=args.workers
        )
        time.sleep(args.settle)
        worker_started = snapshot(worker.pid, detail=True)
        api_started = snapshot(serve.pid, detail=True)

        base_url = f"http://127.0.0.1:{port}"
        cookie_name = settings.auth.cookie_name
        cookie, _ = api_load.login(base_url, api_load.OPERATOR, cookie_name)
        script = workdir / "load.lua"
        script.write_text(api_load.WRK_SCRIPT % {"cookie": f"{cookie_name}={cookie}"})
        print(f"[api] load: {args.load_seconds:g} s, 16 connections", file=sys.stderr)
        result = api_load.wrk(script, base_url + api_load.REQUESTS_PATH, 16, 2, args.load_seconds)
        time.sleep(args.settle)
        api_after = snapshot(serve.pid, detail=True)
        return Measured(
            api_started=api_started,
            api_after=api_after,
            worker_started=worker_started,
            api_pid=serve.pid,
            worker_pid=worker.pid,
            requests_served=int(result["requests"]),
            workers=args.workers,
            concurrency=args.concurrency,
            dataset=args.requests,
        )
    raise AssertionError("unreachable")


def goal_rows(m: Measured, command: str) -> list[rows.Row]:
    rest = http_workers(m.api_started)
    after = http_workers(m.api_after)
    parent = m.api_started.rss.get(m.api_pid, 0)
    tree = m.worker_started.total
    out = [
        rows.at_most(
            "memory",
            "API HTTP worker RSS at rest (largest)",
            mb(max(rest.values(), default=0)),
            120,
            "MB",
            command=command,
        ),
        rows.at_most(
            "memory",
            f"API HTTP worker RSS after {m.requests_served:,} member pages (largest)",
            mb(max(after.values(), default=0)),
            150,
            "MB",
            command=command,
        ),
        rows.at_most("memory", "`ztix serve` parent RSS", mb(parent), 60, "MB", command=command),
        # Summed VmRSS counts every page the forks share with their parent once per process
        # (617 MiB for what takes 222 MiB): the tree's memory is its PSS.
        rows.at_most(
            "memory",
            f"Celery worker tree at rest, concurrency {m.concurrency} (PSS, summed)",
            mb(m.worker_started.pss_total),
            300,
            "MB",
            command=command,
            measured=f"{mb(m.worker_started.pss_total):.0f} MB (summed VmRSS {mb(tree):.0f} MB)",
        ),
    ]
    return out


def render(run: Run, m: Measured, table: str) -> str:
    lines = [
        anchor("memory"),
        "## Memory of the deployed processes",
        "",
        "```sh",
        run.command,
        "```",
        "",
        *run.lines(),
        f"- Site: {m.dataset:,} join requests in PostgreSQL; `ztix serve --workers {m.workers}`"
        f" and `ztix worker --pool prefork --concurrency {m.concurrency}`, as deploy/compose.yaml"
        " runs them, on compiled bytecode as the image has it (deploy/Dockerfile:"
        " `UV_COMPILE_BYTECODE=1`, `PYTHONDONTWRITEBYTECODE=1`); at rest = after start-up,"
        " once settled; the load: wrk, 16 connections, "
        f"on the member's page ({m.requests_served:,} answered).",
        "",
        table,
        "",
        "Per process (MiB):",
        "",
        "| tree | process | VmRSS at rest | PSS at rest | VmHWM | VmRSS after the load |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for tree, snap, later in (
        ("API", m.api_started, m.api_after),
        ("worker", m.worker_started, None),
    ):
        for pid in sorted(snap.rss, key=lambda p: (p != min(snap.rss), p)):
            after = "-" if later is None else f"{later.rss.get(pid, 0) / 1024:.0f}"
            lines.append(
                f"| {tree} | {snap.roles.get(pid, '?')} | {snap.rss[pid] / 1024:.0f} | "
                f"{snap.pss.get(pid, 0) / 1024:.0f} | {snap.hwm.get(pid, 0) / 1024:.0f} | {after} |"
            )
    lines += [
        "",
        f"Trees at rest: API {m.api_started.total / 1024:.0f} MiB RSS "
        f"({m.api_started.pss_total / 1024:.0f} MiB PSS), worker "
        f"{m.worker_started.total / 1024:.0f} MiB RSS ({m.worker_started.pss_total / 1024:.0f}"
        " MiB PSS). PSS shares each page between the processes that map it: the forks of the "
        "Celery worker share most of their parent's.",
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.memory", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--requests", type=int, default=10_000, help="join requests loaded")
    parser.add_argument("--load-seconds", type=float, default=10, help="wrk run on the page")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn HTTP workers")
    parser.add_argument("--concurrency", type=int, default=4, help="Celery prefork processes")
    parser.add_argument("--settle", type=float, default=3, help="seconds before a snapshot")
    parser.add_argument("--dsn", default=DEFAULT_DSN, help="a PostgreSQL database to connect to")
    parser.add_argument("--write-docs", action="store_true", help=f"update {DOCS.name}")
    parser.add_argument("--short", action="store_true", help="make bench's mode: 2,000 "
                        "requests, 6 s of load")  # fmt: skip
    args = parser.parse_args(argv)
    if args.short:
        args.requests, args.load_seconds = 2_000, 6.0
    if shutil.which("wrk") is None:
        parser.error("wrk is missing: scripts/install-system-deps.sh installs it (Debian: wrk)")
    return args


def main(argv: list[str] | None = None) -> list[rows.Row]:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    run = Run.start("memory", argv)
    measured = measure(args)
    run.finish()
    found = goal_rows(measured, run.command)
    write_report(run, render(run, measured, rows.table(found)), docs=args.write_docs,
                 summary=None)  # fmt: skip
    return found


if __name__ == "__main__":
    raise SystemExit(rows.run(main))
