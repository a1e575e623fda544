"""Benchmark: approval → active with two real BIRD route servers, split by stage.

    uv run python -m bench.rs_approval [--existing 0,500,2000] [--samples 10] [--short]

A SQLite file database, the ZeroTier controller emulator, two BIRD 2 route servers (rs1 and
rs2, pair order 0 and 1, local transport) and the in-process job runner (4 threads: the real
``process_request`` and ``sync_route_servers`` with the activation gate), as `ztix serve`
runs them embedded. For each size, that many members are first made active (created,
approved, provisioned onto both servers); then ``--samples`` requests are approved one at a
time, each timed from the approval until the database says ``active``.

The time is split by stage from the audit trail the workflow writes anyway:

- *queue*: ``request.approved`` → ``provisioning.started`` (the job picked up);
- *controller*: → ``provisioning.waiting_for_route_servers`` (member authorized on ZeroTier);
- *rs1*: → ``routeserver.applied`` on rs1 (sync job queued, desired state built, rendered,
  applied to BIRD: upload, configure, verify, confirm);
- *rs2*: → ``routeserver.applied`` on rs2 (servers go in pair order, one after the other);
- *gate*: → ``provisioning.succeeded`` (the request activated once both servers run it).

Goal (issue 17, P1): p50 ≤ 2 s and p95 ≤ 4 s at 2,000 existing members, pair order kept.

This is a benchmark, not a test: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import platform
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from bench import rows
from bench.common import DOCS, Run, Summary, anchor, pct, write_report
from bench.routeservers import (
    CONFIGURE_TIMEOUT,
    LAN4,
    LAN6,
    RS_ASN,
    RS_IPV4,
    RS_IPV6,
    VALIDATOR,
    Bird,
    count_status,
    member_asn,
    member_node,
    running_bird,
    short_dir,
)
from ztix.config import Settings
from ztix.db import migrate
from ztix.db.models import AuditEvent, JoinRequest, User
from ztix.db.session import Database
from ztix.jobs.runner import InProcessRunner
from ztix.jobs.tasks import JobContext, sync_route_servers
from ztix.workflow import audit, dispatch, users
from ztix.workflow import requests as service
from ztix.workflow.controller import startup_check
from ztix.workflow.routeservers import gate_for
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.emulator import ControllerEmulator

STAGES = ("queue", "controller", "rs1", "rs2", "gate")
RS2_IPV4 = LAN4[2]
RS2_IPV6 = LAN6[2]
GOAL_P50, GOAL_P95 = 2.0, 4.0
GOAL_MEMBERS = 2000  # the goals' size
SHORT_EXISTING, SHORT_SAMPLES = (
    GOAL_MEMBERS,
    3,
)  # --short: the goals' size, 3 samples (bench/suite.py)

log = logging.getLogger("bench.rs_approval")


def settings_for(url: str, emulator: ControllerEmulator, birds: dict[str, Bird]) -> Settings:
    nwid = emulator.address + "000001"
    addresses = {"rs1": (RS_IPV4, RS_IPV6), "rs2": (RS2_IPV4, RS2_IPV6)}
    return Settings(
        database_url=url,
        networks=[
            {
                "zt_network_id": nwid,
                "name": "ZT-IX Bench",
                "ipv4_prefix": str(LAN4),
                "ipv6_prefix": str(LAN6),
                "reserved_addresses": [str(a) for pair in addresses.values() for a in pair],
            }
        ],
        workflow={"approval_mode": "manual_admin"},
        peeringdb={"enabled": False},
        zerotier={"controller": {"url": emulator.url, "token": emulator.token}},
        jobs={"lease_seconds": 30},
        routeservers={
            "servers": [
                {
                    "name": name,
                    "pair_order": order,
                    "transport": "local",
                    "birdc": "birdc",
                    "birdc_socket": str(birds[name].socket),
                    "config_dir": str(birds[name].config_dir),
                    "main_config": str(birds[name].main_config),
                    "asn": RS_ASN,
                    "router_id": str(addresses[name][0]),
                    "ipv4": str(addresses[name][0]),
                    "ipv6": str(addresses[name][1]),
                    "network": nwid,
                    "configure_timeout_seconds": CONFIGURE_TIMEOUT,
                }
                for order, name in enumerate(("rs1", "rs2"))
            ],
            "rpki_validators": [
                {"name": VALIDATOR.name, "host": str(VALIDATOR.address), "port": VALIDATOR.port}
            ],
        },
    )


@dataclass
class Sample:
    total: float
    stages: dict[str, float]
    order: tuple[str, ...]  # servers in the order they applied


@dataclass
class SizeResult:
    existing: int
    setup_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def totals(self) -> list[float]:
        return [s.total for s in self.samples]


def stage_times(database: Database, rid: uuid.UUID, since_id: int) -> Sample:
    """The audit trail of one request (and the servers' applies after it was approved)."""
    with database.read_session() as db:
        events = db.execute(
            select(AuditEvent.action, AuditEvent.target_id, AuditEvent.occurred_at)
            .where(AuditEvent.id > since_id)
            .where((AuditEvent.request_id == rid) | (AuditEvent.action == "routeserver.applied"))
            .order_by(AuditEvent.id)
        ).all()
    first: dict[str, datetime] = {}
    order: list[str] = []
    for action, target, at in events:
        key = f"{action}:{target}" if action == "routeserver.applied" else action
        if key not in first:
            first[key] = at
            if action == "routeserver.applied":
                order.append(str(target))
    marks = [
        first.get("request.approved"),
        first.get("provisioning.started"),
        first.get("provisioning.waiting_for_route_servers"),
        first.get("routeserver.applied:rs1"),
        first.get("routeserver.applied:rs2"),
        first.get("provisioning.succeeded"),
    ]
    if any(m is None for m in marks):
        missing = [k for k, m in zip(("approved", *STAGES), marks, strict=True) if m is None]
        raise RuntimeError(f"request {rid}: no audit event for {missing}: {sorted(first)}")
    stages = {
        stage: (marks[i + 1] - marks[i]).total_seconds()  # type: ignore[operator]
        for i, stage in enumerate(STAGES)
    }
    total = (marks[-1] - marks[0]).total_seconds()  # type: ignore[operator]
    return Sample(total, stages, tuple(order))


def last_audit_id(database: Database) -> int:
    with database.read_session() as db:
        return db.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0


def wait_active(database: Database, rids: list[uuid.UUID], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database.read_session() as db:  # no write lock: the jobs write meanwhile
            statuses = db.scalars(select(JoinRequest.status).where(JoinRequest.id.in_(rids)))
            seen = list(statuses)
        if all(s == "active" for s in seen):
            return
        failed = sum(1 for s in seen if s == "failed")
        if failed:
            raise RuntimeError(f"{failed} of {len(rids)} requests failed")
        time.sleep(0.01 if len(rids) == 1 else 0.2)
    raise RuntimeError(f"not all of {len(rids)} active after {timeout:g} s")


def run_size(existing: int, samples: int, timeout: float) -> SizeResult:
    out = SizeResult(existing)
    with contextlib.ExitStack() as stack:
        root = stack.enter_context(short_dir("rsp-"))
        birds = {name: stack.enter_context(running_bird(root / name)) for name in ("rs1", "rs2")}
        emulator = stack.enter_context(ControllerEmulator(root / "zt"))
        url = f"sqlite:///{root / 'ztix.sqlite3'}"
        migrate.upgrade(url)
        settings = settings_for(url, emulator, birds)
        database = Database(url)
        stack.callback(database.dispose)
        gate = startup_check(settings, database)
        if not gate.ready:
            raise RuntimeError(f"controller preflight failed: {gate.reason}")
        nwid = settings.networks[0].zt_network_id
        conf = settings.zerotier.controller
        provider = ControllerProvider(
            ControllerSettings(url=conf.url, token=conf.token, timeout_seconds=conf.timeout_seconds)
        )
        stack.callback(provider.close)
        runner = InProcessRunner(threads=4)
        ctx = JobContext(
            settings, database, provider, runner, gate=gate_for(settings), controller_ready=True
        )
        runner.bind(ctx)
        sync_route_servers(ctx)  # both servers start from an empty ZT-IX configuration
        with database.session() as db:
            admin = users.create_local_user(
                db, audit.CLI, username="bench-admin", password="x" * 16, admin=True
            )
            admin_id = admin.id
            actor = audit.Actor.for_user(admin, "127.0.0.1")
            ids = [
                service.create_request(
                    db,
                    settings,
                    admin,
                    actor,
                    asn=member_asn(i),
                    zt_network_id=nwid,
                    node_id=member_node(i),
                ).id
                for i in range(existing + samples)
            ]
        dispatch.install(database.sessionmaker, runner)
        stack.callback(runner.stop)
        runner.start()

        def approve(rid: uuid.UUID) -> None:
            with database.session() as db:
                user = db.get(User, admin_id)
                assert user is not None
                service.approve(db, rid, audit.Actor.for_user(user, "127.0.0.1"))

        started = time.perf_counter()
        for rid in ids[:existing]:
            approve(rid)
        if existing:
            wait_active(database, ids[:existing], timeout)
        out.setup_s = time.perf_counter() - started
        log.info("%d members active in %.1f s", existing, out.setup_s)
        for rid in ids[existing:]:
            since = last_audit_id(database)
            approve(rid)
            wait_active(database, [rid], timeout)
            sample = stage_times(database, rid, since)
            out.samples.append(sample)
            log.info(
                "%d existing: %.0f ms (%s)",
                existing,
                sample.total * 1e3,
                ", ".join(f"{k} {v * 1e3:.0f}" for k, v in sample.stages.items()),
            )
            if sample.order != ("rs1", "rs2"):
                out.errors.append(f"servers applied in the order {sample.order}")
        statuses = count_status(database)
        if statuses.get("active", 0) != existing + samples:
            out.errors.append(f"statuses at the end: {dict(statuses)}")
    return out


def seconds(value: float) -> str:
    return f"{value * 1e3:,.0f} ms"


def table(results: list[SizeResult]) -> str:
    lines = [
        "| existing members | samples | p50 | p95 | "
        + " | ".join(f"{s} p50" for s in STAGES)
        + " | pair order kept | set-up (all existing active) |",
        "|---:|---:|---:|---:|" + "---:|" * len(STAGES) + "---|---:|",
    ]
    for r in results:
        totals = r.totals()
        stage_p50 = [seconds(statistics.median([s.stages[k] for s in r.samples])) for k in STAGES]
        kept = "yes" if not any("order" in e for e in r.errors) else "no"
        lines.append(
            f"| {r.existing:,} | {len(totals)} | {seconds(pct(totals, 50))} | "
            f"{seconds(pct(totals, 95))} | " + " | ".join(stage_p50) + f" | {kept} | "
            f"{r.setup_s:.1f} s |"
        )
    return "\n".join(lines)


def goal_rows(results: list[SizeResult], command: str) -> list[rows.Row]:
    """Issue 17's P1 for `make bench`: approval → active p50 ≤ 2 s and p95 ≤ 4 s at 2,000
    existing members (goal rows from a size of at least 2,000; a smaller size's figures are
    info rows), each size's per-stage split (p50), and a failed row when the servers did not
    keep their pair order or a request was not active at the end."""
    found: list[rows.Row] = []
    for r in results:
        if not r.samples:
            continue
        where = f"2 route servers, {r.existing:,} members, {len(r.samples)} samples"
        for label, q, goal in (("p50", 50, GOAL_P50), ("p95", 95, GOAL_P95)):
            measured = pct(r.totals(), q)
            name = f"approval → active {label} ({where})"
            if r.existing >= GOAL_MEMBERS:
                found.append(
                    rows.at_most(
                        "rs_approval", name, measured, goal, "s", command=command,
                        measured=seconds(measured),
                    )
                )  # fmt: skip
            else:
                found.append(rows.info("rs_approval", name, seconds(measured), command=command))
        split = ", ".join(
            f"{k} {seconds(statistics.median([s.stages[k] for s in r.samples]))}" for k in STAGES
        )
        found.append(
            rows.info(
                "rs_approval",
                f"approval → active by stage, p50 ({r.existing:,} members)",
                f"{split}; set-up of the {r.existing:,} members {r.setup_s:.0f} s",
                command=command,
            )
        )
        if r.errors:
            found.append(
                rows.failed(
                    "rs_approval",
                    f"pair order kept, every request active ({r.existing:,} members)",
                    "; ".join(r.errors)[:300],
                    command=command,
                )
            )
    return found


def report(bench_run: Run, results: list[SizeResult], samples: int) -> str:
    out = [anchor(bench_run.module), "## Approval → active with two BIRD route servers (P1)", ""]
    out += ["```sh", bench_run.command, "```", ""]
    out += bench_run.lines()
    out += [
        f"- Software: {versions()}",
        "",
        "SQLite file database, the ZeroTier controller emulator, two BIRD route servers (rs1, "
        "rs2: pair order 0, 1; local transport), the in-process runner (4 threads). For each "
        f"size the existing members are made active first, then {samples} requests are "
        "approved one at a time; each is timed from `request.approved` to "
        "`provisioning.succeeded` in the audit trail, split at `provisioning.started` "
        "(*queue*), `provisioning.waiting_for_route_servers` (*controller*), rs1's and rs2's "
        "`routeserver.applied` (*rs1*, *rs2*: sync job, desired state, render, apply) and "
        "`provisioning.succeeded` (*gate*). Members carry no IRR data (the database has none "
        'yet), so their sessions render IRR "not checked".',
        "",
        table(results),
        "",
        rows.table(goal_rows(results, bench_run.command)),
    ]
    problems = [f"{r.existing}: {e}" for r in results for e in r.errors]
    if problems:
        out += ["", "Problems seen: " + "; ".join(problems)]
    return "\n".join(out) + "\n"


def summary(results: list[SizeResult]) -> Summary:
    figures = [
        f"{r.existing:,} members: p50 {seconds(pct(r.totals(), 50))}, "
        f"p95 {seconds(pct(r.totals(), 95))}"
        for r in results
        if r.samples
    ]
    return Summary(
        title="Approval → active, two route servers",
        figure="<br>".join(figures),
        baseline="goal at 2,000 members: p50 ≤ 2 s, p95 ≤ 4 s, pair order kept",
    )


def versions() -> str:
    bird = subprocess.run(["bird", "--version"], capture_output=True, text=True, check=False)
    return f"{(bird.stdout + bird.stderr).strip()}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> list[rows.Row]:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench.rs_approval", description=__doc__)
    parser.add_argument("--existing", default="0,500,2000", help="members already active")
    parser.add_argument("--samples", type=int, default=10, help="timed approvals per size")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--short",
        action="store_true",
        help=f"for `make bench`: {SHORT_EXISTING} members, {SHORT_SAMPLES} samples (info rows: "
        f"making the goal's {GOAL_MEMBERS:,} members active takes 2 to 5 minutes on this "
        "machine, more than make bench's 10 minutes leave it; the goal rows need the long run)",
    )
    parser.add_argument("--write-docs", action="store_true", help=f"update {DOCS.name}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    sizes = [SHORT_EXISTING] if args.short else [int(s) for s in args.existing.split(",")]
    samples = SHORT_SAMPLES if args.short else args.samples
    bench_run = Run.start("rs_approval", argv)
    results = [run_size(n, samples, args.timeout) for n in sizes]
    bench_run.finish()
    text = report(bench_run, results, samples)
    write_report(bench_run, text, docs=args.write_docs, summary=summary(results))
    return goal_rows(results, bench_run.command)


if __name__ == "__main__":
    raise SystemExit(rows.run(main))
