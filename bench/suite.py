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


# Budgets: about twice a short run's time on a quiet machine (2026-12-06 21:41-22:10 UTC,
# load below 1: api_load 51 s, memory 28 s, admin_queue 21 s, burst 23 s, provisioning 24 s,
# routeservers 13 s, bird_shapes 16 s, rs_approval 139-178 s, irr 12 s). rs_approval makes
# 2,000 members active first (P1's size: 2 to 3 minutes), so it gets what the others leave;
# on a machine loaded by other work it can overrun its budget, and the table then says so.
SUITE: tuple[Benchmark, ...] = (
    Benchmark("api_load", budget_seconds=100),
    Benchmark("memory", budget_seconds=55),
    Benchmark("admin_queue", budget_seconds=40),
    Benchmark("burst", budget_seconds=50),
    Benchmark("provisioning", budget_seconds=50),
    # Issue 17's P3 and P1: the route servers' shape, apply and approval latency.
    Benchmark("routeservers", budget_seconds=25),
    Benchmark("bird_shapes", budget_seconds=30),
    Benchmark("rs_approval", budget_seconds=220),
    # Issue 15: IRR expansion against a local IRRd (its start-up included).
    Benchmark("irr", budget_seconds=30),
)


def by_name(names: list[str]) -> list[Benchmark]:
    known = {b.module: b for b in SUITE}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]
