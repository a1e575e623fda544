"""The one shape every benchmark reports in: rows of goal, measured, ratio, pass/fail, command.

The interface of a benchmark module (``bench/<name>.py``, listed in ``bench.suite``):

- ``main(argv: list[str] | None = None) -> list[Row]``, where ``argv`` accepts ``--short``
  (the runner's mode: the same measurements, smaller sizes and durations, a few minutes at
  most) besides the module's own options;
- ``if __name__ == "__main__": raise SystemExit(rows.run(main))``: prints the rows (a
  table for people, and one ``BENCH_ROW {json}`` line per row for ``python -m bench``)
  and exits 0 when every goal is met, 1 when one is missed.

A row states its goal as a bound on one figure (:func:`at_most`, :func:`at_least`), or
only records a figure (:func:`info`, no goal). Its ratio is the figure over the bound, so a
ratio of 0.8 under ``≤`` is 20 % of head room and under ``≥`` a miss by 20 %. Figures that
are themselves ratios against a physical limit measured in the same run (the member page
against ``/healthz``) say so in ``measured``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Literal

PREFIX = "BENCH_ROW "
Op = Literal["<=", ">=", ""]


@dataclass(frozen=True)
class Row:
    bench: str  # the module, e.g. "api_load"
    name: str  # what is measured, e.g. "API worker RSS at rest"
    goal: str  # e.g. "≤ 120 MB"; "" for a figure with no goal
    measured: str  # the figure with its unit and, where useful, what it came from
    ratio: float | None  # the figure over the goal's bound
    passed: bool | None  # None: no goal
    command: str  # how to reproduce it

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "FAIL", None: "-"}[self.passed]


def _row(bench: str, name: str, value: float, op: Op, bound: float, unit: str, *,
         measured: str | None, command: str) -> Row:  # fmt: skip
    shown = measured or f"{_number(value)} {unit}".strip()
    if not op:
        return Row(bench, name, "", shown, None, None, command)
    ratio = value / bound if bound else None
    passed = value <= bound if op == "<=" else value >= bound
    goal = f"{'≤' if op == '<=' else '≥'} {_number(bound)} {unit}".strip()
    return Row(bench, name, goal, shown, ratio, passed, command)


def at_most(bench: str, name: str, value: float, bound: float, unit: str, *,
            command: str, measured: str | None = None) -> Row:  # fmt: skip
    """A figure that must not exceed ``bound`` (a time, a size)."""
    return _row(bench, name, value, "<=", bound, unit, measured=measured, command=command)


def at_least(bench: str, name: str, value: float, bound: float, unit: str, *,
             command: str, measured: str | None = None) -> Row:  # fmt: skip
    """A figure that must reach ``bound`` (a rate, a share of a limit)."""
    return _row(bench, name, value, ">=", bound, unit, measured=measured, command=command)


def info(bench: str, name: str, measured: str, *, command: str) -> Row:
    """A figure recorded without a goal."""
    return Row(bench, name, "", measured, None, None, command)


def failed(bench: str, name: str, why: str, *, command: str) -> Row:
    """A benchmark that could not measure (it crashed, timed out, its set-up failed)."""
    return Row(bench, name, "runs to the end", why, None, False, command)


def _number(value: float) -> str:
    if value == int(value) and abs(value) >= 10:
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.1f}"


# --- printing and reading -----------------------------------------------------------------


HEADER = (
    "| benchmark | goal | measured | ratio | pass/fail | command |\n|---|---|---|---:|:---:|---|"
)


def table(rows: Iterable[Row]) -> str:
    lines = [HEADER]
    for r in rows:
        cells = [
            f"{r.name} ([{r.bench}](#bench-{r.bench}))",
            r.goal or "-",
            r.measured,
            "-" if r.ratio is None else f"{r.ratio:.2f}",
            r.verdict,
            f"`{r.command}`",
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def emit(rows: Iterable[Row]) -> None:
    """The rows for the runner (one JSON line each) and for people (a table)."""
    rows = list(rows)
    print(table(rows))
    for r in rows:
        print(PREFIX + json.dumps(asdict(r)))
    sys.stdout.flush()


def parse(stdout: str) -> list[Row]:
    """The rows a benchmark printed (:func:`emit`)."""
    return [
        Row(**json.loads(line[len(PREFIX) :]))
        for line in stdout.splitlines()
        if line.startswith(PREFIX)
    ]


def exit_code(rows: Iterable[Row]) -> int:
    return 1 if any(r.passed is False for r in rows) else 0


def run(main: Callable[[list[str] | None], list[Row]], argv: list[str] | None = None) -> int:
    """A benchmark module's ``__main__``: its rows printed, its exit code."""
    rows = main(sys.argv[1:] if argv is None else argv)
    emit(rows)
    return exit_code(rows)
