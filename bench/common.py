"""What the benchmarks share: the run's description (command, date, machine, load average,
runtime), scratch PostgreSQL databases, a private Redis, ``ztix`` subprocesses, the app
under uvicorn in a thread, and writing a report to ``bench/results/`` and into its section
of ``docs/performance.md`` (with its row of the summary table at the top).

Nothing here measures anything; this is a benchmark helper, not a test.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from tests.support import services

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "performance.md"
DEFAULT_DSN = os.environ.get("ZTIX_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")

DOCS_INTRO = """# Performance

Measured performance of ZT-IX. Every figure here comes with the exact command that produced
it and a baseline measured in the same run; rerun the command to refresh the figures (each
benchmark rewrites its own section and its row of the summary below).
"""
SUMMARY_START = "<!-- bench:summary:start -->"
SUMMARY_END = "<!-- bench:summary:end -->"
SUMMARY_HEADER = (
    "| benchmark | figure | baseline (same run) | taken (UTC), load average at the start "
    "| runtime | command |\n|---|---|---|---|---:|---|"
)
# The summary's rows, in this order (a benchmark not listed goes last).
SUMMARY_ORDER = ("api_load", "burst", "admin_queue", "provisioning", "routeservers")


# --- the run ------------------------------------------------------------------------------


def command_line(module: str, argv: list[str]) -> str:
    return f"uv run python -m bench.{module}" + "".join(f" {shlex.quote(a)}" for a in argv)


def loadavg() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def memory_total() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / (1 << 20):.1f} GiB memory"
    return "memory unknown"


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_total()}, "
        f"{platform.system()} {platform.release()}"
    )


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def process_age() -> float:
    """Seconds since this process started (its imports included), from /proc."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rpartition(")")[2].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))


@dataclass
class Run:
    """One run of a benchmark: what was typed, when, the load around it, how long it took."""

    module: str
    command: str
    taken: datetime
    load_start: str
    started: float  # time.perf_counter()
    load_end: str | None = None
    seconds: float | None = None

    @classmethod
    def start(cls, module: str, argv: list[str]) -> Run:
        install_sigterm_handler()
        return cls(
            module=module,
            command=command_line(module, argv),
            taken=datetime.now(UTC),
            load_start=loadavg(),
            started=time.perf_counter() - process_age(),
        )

    def finish(self) -> None:
        self.load_end = loadavg()
        self.seconds = time.perf_counter() - self.started

    @property
    def runtime(self) -> str:
        return "-" if self.seconds is None else duration(self.seconds)

    def lines(self) -> list[str]:
        """The bullet lines every section starts with (after its command)."""
        load = f"{self.load_start} at the start"
        if self.load_end is not None:
            load += f", {self.load_end} at the end"
        return [
            f"- Taken: {self.taken:%Y-%m-%d %H:%M} UTC; runtime {self.runtime} (the Python "
            "process's, from its start: imports, set-up, loading, measuring, clean-up)",
            f"- Machine: {machine()}; nproc {os.cpu_count()}; load average {load} (1, 5, 15 min)",
        ]


def install_sigterm_handler() -> None:
    """SIGTERM ends the benchmark like Ctrl-C does: by an exception, so that every
    ``finally`` (processes, scratch databases, temporary directories) still runs."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


# --- versions -------------------------------------------------------------------------------


def pg_version(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def redis_version() -> str:
    out = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=False
    ).stdout
    match = re.search(r"v=(\S+)", out)
    return f"Redis {match.group(1) if match else '?'}"


def package_versions(*dists: str) -> str:
    parts = [f"Python {platform.python_version()}"]
    for dist in dists:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            parts.append(f"{dist} {importlib.metadata.version(dist)}")
    return ", ".join(parts)


# --- configuration ------------------------------------------------------------------------


def bulk_write_limits() -> dict[str, Any]:
    """``auth`` settings that lift the rate limits (per user and per address, 60 and 300
    state-changing requests a minute; per session and per address, 600 reads a minute) for
    a benchmark whose few clients make thousands of requests a minute. The limits still
    count every request (what they cost is measured), they just never refuse one. Empty
    where this version has no such limits."""
    from ztix.config import AuthConfig

    lifted = {"attempts": 1_000_000, "window_seconds": 60}
    keys = ("writes_per_user", "writes_per_address", "reads_per_session", "reads_per_address")
    return {key: dict(lifted) for key in keys if key in AuthConfig.model_fields}


# --- numbers ------------------------------------------------------------------------------


def pct(samples: list[float], q: float) -> float:
    """The q-th percentile (inclusive method: p100 is the maximum)."""
    if len(samples) == 1:
        return samples[0]
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(samples: list[float]) -> float:
    return statistics.median(samples)


# --- scratch PostgreSQL -------------------------------------------------------------------


def with_database(dsn: str, name: str) -> str:
    return make_url(dsn).set(database=name).render_as_string(hide_password=False)


@contextmanager
def scratch_database(dsn: str, label: str) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped (with its connections) at the end."""
    name = f"ztix_bench_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(dsn, name)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:g} s")


class RedisServer(services.RedisServer):
    """The tests' private ``redis-server`` (tests/support/services.py: a free loopback port,
    no persistence, its own directory), with a URL per database number."""

    def __init__(self, workdir: Path | None = None) -> None:
        super().__init__()  # its own temporary directory; ``workdir`` is not needed

    def db_url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Processes:
    """``python -m ztix.cli …`` subprocesses (serve, worker, beat) on one runtime config,
    each in its own process group (uvicorn's and Celery's children too), logging to
    ``<workdir>/<name>.log``. The config reaches them as a deployment gives it:
    ``ZTIX_CONFIG`` (what `ztix serve`'s HTTP worker processes read) and ``--config``."""

    def __init__(self, workdir: Path, config_file: Path) -> None:
        self.workdir = workdir
        self.config_file = config_file
        self.procs: dict[str, subprocess.Popen[str]] = {}

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def spawn(self, name: str, *args: str) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ZTIX_", "DATABASE_URL"))}
        env["PYTHONUNBUFFERED"] = "1"
        env["ZTIX_CONFIG"] = str(self.config_file)
        with self.log(name).open("w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ztix.cli", *args, "--config", str(self.config_file)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=self.workdir,
                start_new_session=True,
            )
        self.procs[name] = proc
        return proc

    def log_text(self, name: str) -> str:
        return self.log(name).read_text(errors="replace")

    def wait_for_log(self, name: str, pattern: str, timeout: float = 60, count: int = 1) -> None:
        """Until ``pattern`` appears ``count`` times in the process's log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(re.findall(pattern, self.log_text(name))) >= count:
                return
            if self.procs[name].poll() is not None:
                break
            time.sleep(0.1)
        tail = self.log_text(name)[-3000:]
        raise RuntimeError(f"{name} did not log {pattern!r} ({count}x):\n{tail}")

    def stop_one(self, name: str) -> None:
        self._stop([self.procs[name]])

    def stop(self) -> None:
        self._stop(list(self.procs.values()))

    @staticmethod
    def _stop(procs: list[subprocess.Popen[str]]) -> None:
        """SIGTERM (Celery's warm shutdown, uvicorn's graceful one) to each process group we
        started; SIGKILL to a group whose leader has not exited after 20 s."""
        running = [p for p in procs if p.poll() is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in running:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Children left behind in a group whose leader exited (none expected).
        for proc in procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)


@contextmanager
def serve_in_thread(app: FastAPI, *, lifespan: bool) -> Iterator[str]:
    """The app under uvicorn on a free 127.0.0.1 port, in a background thread of this
    process; with ``lifespan`` its start-up and shut-down run (the in-process runner)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on" if lifespan else "off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


# --- the report ---------------------------------------------------------------------------


@dataclass
class Summary:
    """A benchmark's row in the summary table at the top of docs/performance.md."""

    title: str
    figure: str
    baseline: str
    notes: list[str] = field(default_factory=list)

    def row(self, run: Run) -> str:
        cells = [
            f"[{self.title}](#bench-{run.module})",
            self.figure,
            self.baseline,
            f"{run.taken:%Y-%m-%d %H:%M}, {run.load_start.split(' / ')[0]}",
            run.runtime,
            f"`{run.command}`",
        ]
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def anchor(module: str) -> str:
    """Goes first in a section, so that the summary table can link to it."""
    return f'<a id="bench-{module}"></a>\n'


def write_report(run: Run, section: str, *, docs: bool, summary: Summary | None) -> None:
    """The report to ``bench/results/<module>.md`` (and stdout); with ``docs``, into the
    ``bench:<module>`` section of docs/performance.md and its row of the summary table."""
    results = RESULTS_DIR / f"{run.module}.md"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(section, encoding="utf-8")
    print(section)
    print(f"written to {results.relative_to(ROOT)}", file=sys.stderr)
    if not docs:
        return
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else DOCS_INTRO
    text = replace_block(
        text,
        f"<!-- bench:{run.module}:start -->",
        f"<!-- bench:{run.module}:end -->",
        section,
    )
    if summary is not None:
        text = update_summary(text, run.module, summary.row(run))
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    print(f"updated {DOCS.relative_to(ROOT)}", file=sys.stderr)


def replace_block(text: str, start: str, end: str, body: str, *, after: str = "") -> str:
    """``body`` between the markers ``start`` and ``end``, replacing what was there; at the
    end of ``text`` (or right after the first line equal to ``after``) if they are missing."""
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        return head + block + tail
    if after and after in text:
        head, _, tail = text.partition(after)
        return f"{head}{after}\n\n{block}\n{tail}"
    return text.rstrip("\n") + "\n\n" + block + "\n"


def update_summary(text: str, module: str, row: str) -> str:
    rows: dict[str, str] = {}
    if SUMMARY_START in text and SUMMARY_END in text:
        current = text.partition(SUMMARY_START)[2].partition(SUMMARY_END)[0]
        for line in current.splitlines():
            match = re.search(r"\(#bench-([a-z_]+)\)", line)
            if line.startswith("| [") and match:
                rows[match.group(1)] = line
    rows[module] = row
    order = {name: i for i, name in enumerate(SUMMARY_ORDER)}
    ordered = sorted(rows, key=lambda name: (order.get(name, len(order)), name))
    body = "\n".join(["## Summary", "", SUMMARY_HEADER, *(rows[n] for n in ordered)])
    # Placed after the introduction: before the first benchmark's section.
    if SUMMARY_START not in text:
        first = text.find("<!-- bench:")
        if first >= 0:
            block = f"{SUMMARY_START}\n{body}\n{SUMMARY_END}\n\n"
            return text[:first] + block + text[first:]
    return replace_block(text, SUMMARY_START, SUMMARY_END, body)
