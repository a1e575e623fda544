"""The benchmarks ``make bench`` (``python -m bench``) runs, in this order: the one list.

Each entry names a module of ``bench/`` and the arguments of its short mode (``--short``:
every module follows the interface of ``bench.rows`` and prints its rows). A new benchmark
is one more line here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Benchmark:
    module: str
    short: tuple[str, ...] = ("--short",)
    budget_seconds: int = 90  # the runner stops it past this: the budgets add up to 10 min


# Budgets: a short run's time on this shared machine at load average 4-6 (2026-12-06 21:00
# UTC: provisioning 53 s, routeservers 22 s, bird_shapes 37 s, rs_approval 62 s, irr 32 s)
# with some head room; at load 1-2 they take a third of that.
SUITE: tuple[Benchmark, ...] = (
    Benchmark("api_load", budget_seconds=120),
    Benchmark("memory", budget_seconds=90),
    Benchmark("admin_queue", budget_seconds=50),
    Benchmark("burst", budget_seconds=80),
    Benchmark("provisioning", budget_seconds=70),
    # Issue 17's P3 and P1: the route servers' shape, apply and approval latency.
    Benchmark("routeservers", budget_seconds=30),
    Benchmark("bird_shapes", budget_seconds=45),
    Benchmark("rs_approval", budget_seconds=75),
    # Issue 15: IRR expansion against a local IRRd (its start-up included).
    Benchmark("irr", budget_seconds=40),
)


def by_name(names: list[str]) -> list[Benchmark]:
    known = {b.module: b for b in SUITE}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]
