"""The benchmarks ``make bench`` (``python -m bench``) runs, in this order: the one list.

Each entry names a module of ``bench/`` and the arguments of its short mode. A module that
follows the interface of ``bench.rows`` takes ``--short`` and prints its rows; one that
does not yet is run with the arguments below that make it short, and the runner reports
whether it ran to the end (its figures are in its own report, ``bench/results/<name>.md``).
A new benchmark is one more line here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Benchmark:
    module: str
    short: tuple[str, ...] = ("--short",)
    budget_seconds: int = 90  # the runner stops it past this: the budgets add up to 10 min


SUITE: tuple[Benchmark, ...] = (
    Benchmark("api_load", budget_seconds=120),
    Benchmark("memory", budget_seconds=90),
    Benchmark("admin_queue", budget_seconds=50),
    Benchmark("burst", budget_seconds=80),
    Benchmark(
        "provisioning",
        ("--latency-requests", "20", "--backends", "sqlite", "--bulk", "100", "--phases", "1"),
        budget_seconds=50,
    ),
    # Issue 17's P3 and P1: the route servers' shape, apply and approval latency.
    Benchmark("routeservers", budget_seconds=60),
    Benchmark("bird_shapes", budget_seconds=40),
    Benchmark("rs_approval", budget_seconds=60),
    # Issue 15: IRR expansion against a local IRRd (its start-up included).
    Benchmark("irr", budget_seconds=50),
)


def by_name(names: list[str]) -> list[Benchmark]:
    known = {b.module: b for b in SUITE}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]
