"""Benchmark: the API held by a burst of signed-in clients, on SQLite and on PostgreSQL.

    uv run python -m bench.burst [--clients 100] [--duration 20] [--members 20]
                                 [--databases sqlite,postgresql] [--write-docs]

The site, once per database (a SQLite file in a temporary directory; a scratch PostgreSQL
database on the shared server): migrated; one IX network on the ZeroTier controller
emulator (in this process); ``--members`` local members, each holding one public ASN, and
one admin. ZT-IX runs as a single box runs it: ``ztix serve`` as a subprocess (one HTTP
worker process, the in-process job runner, ``environment: production``, JSON logs at INFO
with uvicorn's access log), with the default ``server.threads`` and ``database`` pool. Every
member logs in over HTTP and files five join requests.

The load: ``wrk`` holds ``--clients`` connections for ``--duration`` seconds (after a 3 s
warm-up). Each request, in turn, goes to one member session (round robin): 40 % the
member's request list (``GET /api/v1/requests?limit=50``), 30 % one of the member's
requests, 20 % ``GET /api/v1/me``, 5 % the admin's queue (``GET
/api/v1/admin/requests?limit=50``, the admin's session) and 5 % a new join request (``POST
/api/v1/requests``, a new node ID each time): writes mixed into the reads. A Lua script
counts every response's status; wrk reports latency percentiles and socket errors
(``--timeout 10s``). An error is a status >= 500 or a socket error. The goal (issue 12):
0 errors and p99 <= 2 s. The baseline, in the same run on the same server: ``GET
/healthz`` (no dependencies, no I/O) at the same concurrency for half the duration.

The read and write rate limits (per session, user and address) are lifted: they exist to
stop one runaway client, and here 100 clients share 21 sessions and one address.

The report goes to ``bench/results/burst.md`` and, with ``--write-docs``, into the
``bench:burst`` section of ``docs/performance.md``. Every process, database and temporary
directory it makes is removed at the end, on failure and on Ctrl-C / SIGTERM too.

This is a benchmark, not a test: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench import rows
from bench.api_load import PASSWORD, login, wrk, wrk_version
from bench.common import (
    DEFAULT_DSN,
    Processes,
    Run,
    Summary,
    anchor,
    bulk_write_limits,
    free_port,
    package_versions,
    pg_version,
    scratch_database,
    write_report,
)
from ztix.config import Settings, load_settings
from ztix.db import migrate
from ztix.db.session import Database
from ztix.workflow import audit, networks, users
from ztix.zerotier.emulator import ControllerEmulator

MODULE = "burst"
ADMIN = "bench-admin"
FIRST_ASN = 205300  # member i holds AS205300 + i (public, 32-bit)
SEEDED = 5  # join requests each member files before the load
GOAL_P99_MS = 2000

WRK_SCRIPT = """\
-- bench/burst.py: signed-in members' reads with writes mixed in, round robin over the
-- sessions; every response's status counted per thread; one JSON line at the end.
local sessions = {
%(sessions)s
}
local admin = %(admin)s
local nwid = "%(nwid)s"
local run = %(run)d
local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  n = 0
end

local function headers(s)
  return {["Cookie"] = s.cookie, ["X-CSRF-Token"] = s.csrf,
          ["Content-Type"] = "application/json"}
end

function request()
  n = n + 1
  local s = sessions[(n + tid) %% #sessions + 1]
  local kind = n %% 20
  if kind < 8 then
    return wrk.format("GET", "/api/v1/requests?limit=50", headers(s))
  elseif kind < 14 then
    return wrk.format("GET", "/api/v1/requests/" .. s.ids[n %% #s.ids + 1], headers(s))
  elseif kind < 18 then
    return wrk.format("GET", "/api/v1/me", headers(s))
  elseif kind < 19 then
    return wrk.format("GET", "/api/v1/admin/requests?limit=50", headers(admin))
  end
  -- a node ID of its own: run, thread and request number
  local node = string.format("%%x%%x%%08x", run, tid, n)
  local body = string.format('{"asn": %%d, "zt_network_id": "%%s", "node_id": "%%s"}',
                             s.asn, nwid, node)
  return wrk.format("POST", "/api/v1/requests", headers(s), body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses") or {}) do
      totals[code] = (totals[code] or 0) + n
    end
  end
  local counts = {}
  for code, n in pairs(totals) do
    counts[#counts + 1] = string.format('"%%d": %%d', code, n)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, ' ..
    '"latency_us": {"min": %%d, "mean": %%.1f, "max": %%d, "p50": %%d, "p90": %%d, ' ..
    '"p99": %%d, "p999": %%d}, "statuses": {%%s}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), table.concat(counts, ", ")))
end
"""

BASELINE_SCRIPT = (
    """\
-- bench/burst.py: the baseline, GET /healthz; statuses counted as in the load.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
"""
    + WRK_SCRIPT.partition("function done")[1]
    + WRK_SCRIPT.partition("function done")[2]
)


@dataclass
class Load:
    """One wrk run's figures."""

    requests: int
    seconds: float
    latency_us: dict[str, float]
    statuses: Counter[int]
    socket_errors: int

    @classmethod
    def of(cls, result: dict[str, Any]) -> Load:
        errors = result["errors"]
        return cls(
            requests=int(result["requests"]),
            seconds=result["duration_us"] / 1e6,
            latency_us={k: float(v) for k, v in result["latency_us"].items()},
            statuses=Counter({int(k): int(v) for k, v in result["statuses"].items()}),
            socket_errors=sum(int(errors[k]) for k in ("connect", "read", "write", "timeout")),
        )

    @property
    def errors(self) -> int:
        return self.socket_errors + sum(n for code, n in self.statuses.items() if code >= 500)

    def ms(self, key: str) -> float:
        return self.latency_us[key] / 1e3

    @property
    def goal_met(self) -> bool:
        return self.requests > 0 and self.errors == 0 and self.ms("p99") <= GOAL_P99_MS


@dataclass
class Result:
    database: str
    version: str
    load: Load
    baseline: Load
    pool: str


def site_config(url: str, emulator: ControllerEmulator, port: int, nwid: str) -> dict[str, Any]:
    return {
        "environment": "production",
        "database_url": url,
        "server": {"host": "127.0.0.1", "port": port},
        "auth": bulk_write_limits(),  # the read limits too
        "peeringdb": {"enabled": False},
        "workflow": {"approval_mode": "manual_admin"},
        "networks": [
            {
                "zt_network_id": nwid,
                "name": "ZT-IX Bench",
                "ipv4_prefix": "10.80.0.0/16",
                "ipv6_prefix": "fd80:80::/64",
            }
        ],
        "zerotier": {"controller": {"url": emulator.url, "token": emulator.token}},
        "logging": {"level": "INFO"},
    }


def prepare_site(settings: Settings, url: str, members: int) -> None:
    migrate.upgrade(url)
    database = Database(url)
    try:
        with database.session() as db:
            networks.sync_networks(db, audit.SYSTEM, settings.networks)
            ix = networks.get_network(db, settings.networks[0].zt_network_id or "")
            assert ix is not None
            users.create_local_user(db, audit.CLI, username=ADMIN, password=PASSWORD, admin=True)
            for i in range(members):
                users.create_local_user(
                    db,
                    audit.CLI,
                    username=f"bench-member-{i:02d}",
                    password=PASSWORD,
                    asns=(FIRST_ASN + i,),
                    networks=[ix],
                )
    finally:
        database.dispose()


def lua_session(cookie: str, csrf: str, asn: int = 0, ids: tuple[str, ...] = ()) -> str:
    listed = ", ".join(f'"{i}"' for i in ids)
    return f'{{cookie = "{cookie}", csrf = "{csrf}", asn = {asn}, ids = {{{listed}}}}}'


def sign_in(base_url: str, cookie_name: str, members: int, nwid: str) -> tuple[list[str], str]:
    """Every member logged in, with the five requests it filed; the admin logged in."""
    sessions = []
    for i in range(members):
        cookie, csrf = login(base_url, f"bench-member-{i:02d}", cookie_name)
        header = {"Cookie": f"{cookie_name}={cookie}", "X-CSRF-Token": csrf}
        ids = []
        with httpx.Client(base_url=base_url, headers=header, timeout=30) as client:
            for n in range(SEEDED):
                body = {"asn": FIRST_ASN + i, "zt_network_id": nwid, "node_id": f"e{i:03x}{n:06x}"}
                response = client.post("/api/v1/requests", json=body)
                response.raise_for_status()
                ids.append(response.json()["id"])
        sessions.append(lua_session(f"{cookie_name}={cookie}", csrf, FIRST_ASN + i, tuple(ids)))
    cookie, csrf = login(base_url, ADMIN, cookie_name)
    return sessions, lua_session(f"{cookie_name}={cookie}", csrf)


@contextlib.contextmanager
def site(database: str, args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    if database == "sqlite":
        yield f"sqlite:///{workdir / 'ztix.sqlite3'}"
    else:
        with scratch_database(args.dsn, "burst") as url:
            yield url


def measure(database: str, args: argparse.Namespace) -> Result:
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix=f"ztix-burst-{database}-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        url = stack.enter_context(site(database, args, workdir))
        emulator = stack.enter_context(ControllerEmulator(workdir / "zt"))
        nwid = emulator.address + "000001"
        port = free_port()
        config_file = workdir / "runtime-config.yaml"
        config_file.write_text(yaml.safe_dump(site_config(url, emulator, port, nwid)))
        settings = load_settings(config_file)
        print(f"[{database}] preparing the site", file=sys.stderr)
        prepare_site(settings, url, args.members)
        procs = Processes(workdir, config_file)
        stack.callback(procs.stop)
        procs.spawn("serve", "serve", "--host", "127.0.0.1", "--port", str(port))
        procs.wait_for_log("serve", r"Application startup complete", timeout=120)
        base_url = f"http://127.0.0.1:{port}"
        sessions, admin = sign_in(base_url, settings.auth.cookie_name, args.members, nwid)

        def script(run: int) -> Path:
            path = workdir / f"load-{run}.lua"
            text = WRK_SCRIPT % {
                "sessions": ",\n".join(sessions),
                "admin": admin,
                "nwid": nwid,
                "run": run,
            }
            path.write_text(text)
            return path

        threads = 2
        print(f"[{database}] warm-up: 3 s", file=sys.stderr)
        wrk(script(1), base_url, args.clients, threads, 3)
        print(f"[{database}] {args.clients} clients for {args.duration:g} s", file=sys.stderr)
        load = Load.of(wrk(script(2), base_url, args.clients, threads, args.duration))
        baseline_script = workdir / "baseline.lua"
        baseline_script.write_text(BASELINE_SCRIPT % {})
        print(f"[{database}] baseline: /healthz for {args.duration / 2:g} s", file=sys.stderr)
        baseline = Load.of(
            wrk(baseline_script, base_url + "/healthz", args.clients, threads, args.duration / 2)
        )
        version = pg_version(args.dsn) if database == "postgresql" else sqlite_version()
        return Result(database, version, load, baseline, describe_pool(settings))
    raise AssertionError("unreachable")


def describe_pool(settings: Settings) -> str:
    """Threads and pool as configured; an older version (measured for comparison) has
    neither setting: anyio's 40 threads and SQLAlchemy's pool of 5 + 10."""
    if not hasattr(settings, "database_pool_size"):
        return "40 threads, a pool of 5 + 10 overflow"
    return (
        f"{settings.server.threads} threads, a pool of {settings.database_pool_size} "
        f"+ {settings.database.max_overflow} overflow"
    )


def sqlite_version() -> str:
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version}"


# --- the report ---------------------------------------------------------------------------


def statuses(load: Load) -> str:
    return ", ".join(f"{code}: {n:,}" for code, n in sorted(load.statuses.items()))


def row(label: str, load: Load) -> str:
    cells = [
        label,
        f"{load.requests:,}",
        f"{load.requests / load.seconds:,.0f}",
        statuses(load),
        str(load.socket_errors),
        f"**{load.errors}**",
        f"{load.ms('p50'):,.0f}",
        f"{load.ms('p90'):,.0f}",
        f"**{load.ms('p99'):,.0f}**",
        f"{load.ms('max'):,.0f}",
    ]
    return "| " + " | ".join(cells) + " |"


def verdict(result: Result) -> str:
    load = result.load
    if load.goal_met:
        return f"{result.database}: goal met (0 errors, p99 {load.ms('p99'):,.0f} ms <= 2 s)"
    missed = []
    if not load.requests:
        missed.append("no answer at all")
    if load.errors:
        missed.append(f"{load.errors} errors")
    if load.ms("p99") > GOAL_P99_MS:
        missed.append(f"p99 {load.ms('p99') - GOAL_P99_MS:,.0f} ms over 2 s")
    return f"{result.database}: goal missed by " + " and ".join(missed)


def render(run: Run, results: list[Result], args: argparse.Namespace) -> str:
    lines = [
        anchor(MODULE),
        "## The API held by a burst (`bench/burst.py`)",
        "",
        f"Command: `{run.command}`",
        "",
        *run.lines(),
        "- Software: "
        + package_versions("fastapi", "uvicorn", "sqlalchemy", "psycopg")
        + "; "
        + ", ".join(r.version for r in results)
        + f"; {wrk_version()}",
        f"- ZT-IX: `ztix serve` (one HTTP worker process, the in-process job runner), "
        f"production settings, JSON logs at INFO; {results[0].pool} (the defaults).",
        f"- Load: {args.clients} wrk connections for {args.duration:g} s after a 3 s warm-up, "
        f"{args.members} member sessions and one admin's, round robin: 40 % the member's list, "
        "30 % one of its requests, 20 % `/api/v1/me`, 5 % the admin queue, 5 % a new join "
        "request (POST). Read and write rate limits lifted. Baseline: `GET /healthz` at the "
        f"same concurrency for {args.duration / 2:g} s.",
        "- Errors: statuses >= 500 plus socket errors (connect, read, write, 10 s timeout). "
        "Goal: 0 errors and p99 <= 2 s.",
        "",
        "| database, endpoint | requests | req/s | statuses | socket errors | errors "
        "| p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        lines.append(row(f"{result.database}: the burst", result.load))
        lines.append(row(f"{result.database}: baseline `/healthz`", result.baseline))
    lines += ["", *(f"- {verdict(r)}." for r in results)]
    return "\n".join(lines) + "\n"


def summary(results: list[Result]) -> Summary:
    figure = "; ".join(
        f"{r.database}: {r.load.errors} errors, p50 {r.load.ms('p50'):,.0f} ms, "
        f"p99 {r.load.ms('p99'):,.0f} ms"
        for r in results
    )
    baseline = "; ".join(
        f"{r.database} `/healthz`: p99 {r.baseline.ms('p99'):,.0f} ms" for r in results
    )
    return Summary("API burst, 100 clients", figure, baseline)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.burst", description=__doc__)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--dsn", default=DEFAULT_DSN, help="PostgreSQL server for scratch DBs")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument(
        "--short", action="store_true", help="make bench's mode: PostgreSQL only, 8 members, 6 s"
    )
    args = parser.parse_args(argv)
    if args.short:
        args.duration, args.databases = 6.0, "postgresql"  # wrk: whole seconds (baseline: 3)
        args.members = 8  # each logs in (argon2) and files 5 requests first
    return args


def goal_rows(results: list[Result], command: str) -> list[rows.Row]:
    """Issue 12's goal per database: no error and p99 at most 2 s under the burst."""
    out = []
    for r in results:
        load = r.load
        p99 = load.ms("p99") if load.requests else float("inf")
        out.append(
            rows.at_most(
                MODULE,
                f"{r.database}: p99 under {load.requests / load.seconds:,.0f} requests/s "
                "of 100 clients",
                p99,
                GOAL_P99_MS,
                "ms",
                command=command,
                measured=f"{p99:,.0f} ms (`/healthz` at the same concurrency: "
                f"{r.baseline.ms('p99'):,.0f} ms)",
            )
        )
        name = f"{r.database}: errors (5xx, socket)"
        out.append(rows.at_most(MODULE, name, load.errors, 0, "", command=command))
    return out


def main(argv: list[str] | None = None) -> list[rows.Row]:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    run = Run.start(MODULE, argv)
    results = [measure(d.strip(), args) for d in args.databases.split(",") if d.strip()]
    run.finish()
    write_report(run, render(run, results, args), docs=args.write_docs, summary=summary(results))
    return goal_rows(results, run.command)


if __name__ == "__main__":
    sys.exit(rows.run(main))
