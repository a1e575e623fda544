"""The one shape of benchmark results (bench/rows.py) and the one list the runner reads
(bench/suite.py): goals decide pass/fail and ratio, rows survive the trip from a benchmark's
output to the runner's table, and every listed benchmark exists with a ``main``."""

from __future__ import annotations

import importlib
import inspect

import pytest
from bench import rows
from bench.suite import SUITE, by_name

CMD = "uv run python -m bench.example --short"


def test_a_bound_decides_pass_fail_and_the_ratio() -> None:
    under = rows.at_most("memory", "worker", 96, 120, "MB", command=CMD)
    over = rows.at_most("memory", "worker", 150, 120, "MB", command=CMD)
    share = rows.at_least("api_load", "page / healthz", 31, 40, "%", command=CMD)
    assert (under.passed, under.ratio, under.goal) == (True, 0.8, "≤ 120 MB")
    assert (over.passed, over.verdict) == (False, "FAIL")
    assert share.passed is False and share.ratio == pytest.approx(0.775)
    assert share.goal == "≥ 40 %"
    assert rows.at_least("api_load", "x", 40, 40, "%", command=CMD).passed is True
    note = rows.info("api_load", "cpu", "6 ms vs 1 ms", command=CMD)
    assert (note.passed, note.ratio, note.verdict) == (None, None, "-")


def test_rows_printed_by_a_benchmark_reach_the_runner(capsys: pytest.CaptureFixture[str]) -> None:
    printed = [
        rows.at_most("memory", "parent | tree", 31, 60, "MB", command=CMD),
        rows.failed("burst", "ran", "exit status 2", command=CMD),
    ]
    rows.emit(printed)
    out = capsys.readouterr().out
    assert rows.parse(out) == printed
    assert "parent \\| tree" in out  # a pipe in a cell does not break the table
    assert rows.exit_code(printed) == 1
    assert rows.exit_code(printed[:1]) == 0


def test_every_listed_benchmark_is_a_module_with_main() -> None:
    names = [b.module for b in SUITE]
    assert len(names) == len(set(names))
    assert {"api_load", "memory"} <= set(names)
    for bench in SUITE:
        module = importlib.import_module(f"bench.{bench.module}")
        assert inspect.isfunction(module.main), bench.module
        assert bench.budget_seconds > 0
    assert sum(b.budget_seconds for b in SUITE) <= 600  # make bench: at most 10 minutes
    assert [b.module for b in by_name(["memory", "api_load"])] == ["memory", "api_load"]
    with pytest.raises(SystemExit):
        by_name(["nonexistent"])
