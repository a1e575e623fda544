"""Benchmark: IRR prefix lists for an IX's members, bgpq4 against a local IRRd 4.

    uv run python -m bench.irr [--members 2000] [--workers 6] [--short]

A synthetic IRR dataset (one aut-num, one AS-SET and 4 IPv4 + 1 IPv6 route objects per
member; every tenth member's AS-SET nests a customer AS-SET with two more ASNs and their
routes) is loaded into a real IRRd 4.5.4 (tests/support/irrd.py: own virtualenv, own Redis,
the machine's PostgreSQL). ZT-IX's real refresh (``workflow.irr.refresh``: targets from a
SQLite database, bgpq4 per member in a thread pool, results stored) then runs twice:

- cold: no IRR data stored yet, every member's data is new;
- unchanged: the same again; nothing changed, so no route-server sync is requested.

Goal (issue 15): cold <= 60 s, unchanged <= 5 s for 2,000 members. Prints a Markdown table;
``docs/performance.md`` ("IRR prefix lists") holds the figures measured here.

This is a benchmark, not a test: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from tests.support.app import make_settings
from tests.support.irrd import IrrdServer, rpsl_object

from bench import rows
from bench.common import command_line, install_sigterm_handler
from ztix.db import migrate
from ztix.db.models import PeeringDBNetwork
from ztix.db.session import Database
from ztix.workflow import irr

BASE_ASN = 210000
CUSTOMER_ASN = 310000
GOALS = {"cold": 60.0, "unchanged": 5.0}  # issue 15, seconds
GOAL_MEMBERS = 2000  # the goals' size
MNT = {"mnt_by": "MNT-BENCH", "admin_c": "BENCH", "tech_c": "BENCH"}


def member_asn(i: int) -> int:
    return BASE_ASN + i


def dataset(members: int) -> str:
    parts = [
        rpsl_object("mntner", "MNT-BENCH", auth="MD5-PW $1$abcdefgh$0123456789abcdefghijkl", **MNT)
    ]
    for i in range(members):
        asn = member_asn(i)
        parts.append(rpsl_object("aut-num", f"AS{asn}", as_name=f"BENCH-{i}", **MNT))
        set_members = [f"AS{asn}"]
        if i % 10 == 0:
            customers = [CUSTOMER_ASN + 2 * i, CUSTOMER_ASN + 2 * i + 1]
            parts.append(
                rpsl_object(
                    "as-set", f"AS-BENCH{i}-CUST", members=[f"AS{c}" for c in customers], **MNT
                )
            )
            set_members.append(f"AS-BENCH{i}-CUST")
            for n, c in enumerate(customers):
                parts.append(
                    rpsl_object(
                        "route", f"45.{i // 64}.{(i % 64) * 4 + n}.0/24", origin=f"AS{c}", **MNT
                    )
                )
        parts.append(rpsl_object("as-set", f"AS-BENCH{i}", members=set_members, **MNT))
        for k in range(4):
            parts.append(
                rpsl_object(
                    "route", f"44.{i // 64}.{(i % 64) * 4 + k}.0/24", origin=f"AS{asn}", **MNT
                )
            )
        parts.append(rpsl_object("route6", f"2a0f:{i:x}::/32", origin=f"AS{asn}", **MNT))
    return "".join(parts)


def main(argv: list[str] | None = None) -> list[rows.Row]:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=6, help="IRRd whois workers = bgpq4s")
    parser.add_argument("--short", action="store_true", help="100 members (a smoke run)")
    args = parser.parse_args(argv)
    members = 100 if args.short else args.members
    logging.basicConfig(level=logging.WARNING)
    install_sigterm_handler()  # stopped by the runner: IRRd and its Redis still go

    started = time.perf_counter()
    rpsl = dataset(members)
    with IrrdServer(rpsl, whois_workers=args.workers) as irrd:
        irrd_ready = time.perf_counter() - started
        with tempfile.TemporaryDirectory(prefix="ztix-bench-irr-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'ztix.sqlite3'}"
            migrate.upgrade(url)
            database = Database(url)
            asns = [member_asn(i) for i in range(members)]
            with database.session() as db:
                for i, asn in enumerate(asns):
                    db.add(
                        PeeringDBNetwork(
                            asn=asn, found=True, name=f"B{i}", irr_as_set=f"TEST::AS-BENCH{i}"
                        )
                    )
            settings = make_settings(
                url,
                irr={
                    "enabled": True,
                    "server": irrd.host,
                    "sources": ["TEST"],
                    "concurrency": args.workers,
                },
            )
            runs = []
            for label in ("cold", "unchanged"):
                t0 = time.perf_counter()
                report = irr.refresh(database, settings, asns=asns)
                runs.append((label, time.perf_counter() - t0, report))
            database.dispose()

    print(f"# IRR prefix lists: {members} members, bgpq4 against a local IRRd 4.5.4\n")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
        f"{args.workers} IRRd whois workers and bgpq4 at a time; "
        f"{len(rpsl.split(chr(10) * 2)) - 1} RPSL objects; IRRd start and load "
        f"{irrd_ready:.1f} s\n"
    )
    print("| Run | Members | Changed | Failed | Unchanged at the IRR | bgpq4 calls | Time | Goal |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for label, seconds, report in runs:
        verdict = "met" if seconds <= GOALS[label] else "missed"
        print(
            f"| {label} | {report.checked} | {len(report.changed)} | {len(report.failed)} | "
            f"{report.skipped} | {3 * (report.checked - report.skipped)} | {seconds:.1f} s | "
            f"<= {GOALS[label]:g} s: {verdict} |"
        )
    print()
    return result_rows(members, irrd_ready, runs, command_line("irr", argv))


def result_rows(
    members: int, irrd_ready: float, runs: list[tuple[str, float, irr.RefreshReport]], command: str
) -> list[rows.Row]:
    """Issue 15's goals (cold ≤ 60 s, unchanged ≤ 5 s) as goal rows when measured at their
    size (2,000 members or more), info rows at a smaller one; IRRd's start and load as an
    info row; members whose expansion failed as a failed row."""
    found = [
        rows.info(
            "irr",
            f"local IRRd 4.5.4 started and loaded, {members:,} members",
            f"{irrd_ready:.1f} s",
            command=command,
        )
    ]
    for label, elapsed, report in runs:
        name = f"IRR refresh, {label}, {members:,} members"
        figure = (
            f"{elapsed:.{1 if elapsed >= 10 else 2}f} s ({len(report.changed):,} changed, "
            f"{report.skipped:,} unchanged at the IRR)"
        )
        if members >= GOAL_MEMBERS:
            found.append(
                rows.at_most("irr", name, elapsed, GOALS[label], "s", command=command,
                             measured=figure)
            )  # fmt: skip
        else:
            found.append(rows.info("irr", name, figure, command=command))
        if report.failed:
            failed = f"{len(report.failed):,} of {report.checked:,} members failed"
            found.append(rows.failed("irr", name + ": every member expanded", failed,
                                     command=command))  # fmt: skip
    return found


if __name__ == "__main__":
    raise SystemExit(rows.run(main))
