"""``make bench``: every benchmark of ``bench.suite`` in short mode, one table at the end.

    uv run python -m bench [--only api_load,memory] [--write-docs]

Each benchmark runs as its own process (``python -m bench.<module> <short args>``), one
after the other so that they do not measure each other, and is stopped past its budget.
The rows they print (``bench.rows``) make one table: goal, measured, ratio, pass/fail,
command. It goes to stdout and ``bench/results/summary.md``, and with ``--write-docs`` to the
top of docs/performance.md (the long-form sections below it are each benchmark's own, from
its full run: ``uv run python -m bench.<module> --write-docs``). Exit status 1 when a goal
is missed or a benchmark failed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench import rows
from bench.common import DOCS, RESULTS_DIR, ROOT, loadavg, replace_block
from bench.suite import SUITE, Benchmark, by_name

TABLE_START = "<!-- bench:table:start -->"
TABLE_END = "<!-- bench:table:end -->"


def run_one(bench: Benchmark) -> tuple[list[rows.Row], float]:
    command = f"uv run python -m bench.{bench.module} " + " ".join(bench.short)
    print(f"[bench] {command} (budget {bench.budget_seconds} s)", file=sys.stderr, flush=True)
    started = time.perf_counter()
    # Its own process group: a timeout stops the benchmark and whatever it started; the
    # benchmarks clean up after themselves on SIGTERM (bench.common.install_sigterm_handler).
    proc = subprocess.Popen(
        [sys.executable, "-m", f"bench.{bench.module}", *bench.short],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, _ = proc.communicate(timeout=bench.budget_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            stdout, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, _ = proc.communicate()
        elapsed = time.perf_counter() - started
        why = f"stopped after its budget of {bench.budget_seconds} s"
        return [*rows.parse(stdout), rows.failed(bench.module, "ran", why, command=command)], (
            elapsed
        )
    elapsed = time.perf_counter() - started
    found = rows.parse(stdout)
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not found):
        why = f"exit status {proc.returncode} (its output above)"
        return [*found, rows.failed(bench.module, "ran", why, command=command)], elapsed
    if not found:  # a module that printed no rows: it ran to the end
        found = [
            rows.info(
                bench.module,
                "ran to the end",
                f"{elapsed:.0f} s; figures in bench/results/{bench.module}.md",
                command=command,
            )
        ]
    return found, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated modules of bench.suite")
    parser.add_argument("--write-docs", action="store_true", help=f"update {DOCS.name}")
    args = parser.parse_args(argv)
    selected = by_name([n for n in args.only.split(",") if n]) if args.only else list(SUITE)
    taken = datetime.now(UTC)
    load_start = loadavg()
    started = time.perf_counter()
    all_rows: list[rows.Row] = []
    for bench in selected:
        found, elapsed = run_one(bench)
        print(f"[bench] {bench.module}: {elapsed:.0f} s", file=sys.stderr, flush=True)
        all_rows.extend(found)
    total = time.perf_counter() - started
    body = "\n".join(
        [
            "## Current figures (`make bench`)",
            "",
            f"Taken {taken:%Y-%m-%d %H:%M} UTC with `make bench` (every benchmark in short mode, "
            f"{total / 60:.1f} min; load average {load_start} at the start, {loadavg()} at the "
            "end). Ratio: the figure over its goal's bound. Each figure's command reruns it "
            "alone; the sections below hold the long-form figures of each benchmark's full run.",
            "",
            rows.table(all_rows),
        ]
    )
    print(body)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "summary.md").write_text(body + "\n", encoding="utf-8")
    if args.write_docs:
        text = DOCS.read_text(encoding="utf-8")
        if TABLE_START not in text:  # right after the introduction
            first = text.find("<!-- bench:")
            block = f"{TABLE_START}\n{TABLE_END}\n\n"
            text = text[:first] + block + text[first:] if first >= 0 else text + "\n" + block
        DOCS.write_text(replace_block(text, TABLE_START, TABLE_END, body), encoding="utf-8")
        print(f"updated {DOCS.relative_to(ROOT)}", file=sys.stderr)
    return rows.exit_code(all_rows)


if __name__ == "__main__":
    raise SystemExit(main())
