"""Benchmark: the first page of the admin request queue at 1,000 and 100,000 requests.

    uv run python -m bench.admin_queue [--sizes 1000,100000] [--repeat 200] [--write-docs]

For each size it creates a scratch PostgreSQL database (dropped at the end), migrates it,
creates an admin and the IX networks with the real workflow code, bulk-loads N join
requests (and their audit events) with COPY, then serves the real app with uvicorn on
127.0.0.1 and times ``GET /api/v1/admin/requests`` over HTTP as a logged-in admin.

It reports, per query case and size, the median and p95 latency and the ratio of the
medians (largest size / smallest size; the requirement is at most 1.5), the SQL statements
each request issues (they must not grow with the table: no N+1), and the plans PostgreSQL
really used for the queue's statements (``auto_explain`` with ANALYZE and BUFFERS, after
warm-up, so prepared/generic plans are what is shown), flagging any ``Seq Scan`` on
``join_requests``.

The report goes to ``bench/results/admin_queue.md`` and, with ``--write-docs``, into the
``bench:admin_queue`` section of ``docs/performance.md``.

This is a benchmark, not a test: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from sqlalchemy import event, select

from bench import rows
from bench.common import (
    DEFAULT_DSN,
    DOCS,
    Run,
    Summary,
    anchor,
    pg_version,
    scratch_database,
    serve_in_thread,
    write_report,
)
from ztix.api.app import create_app
from ztix.config import Settings
from ztix.db import migrate
from ztix.db.models import IxNetwork
from ztix.db.session import Database
from ztix.domain.requests import CLOSED_STATUSES, RequestStatus
from ztix.workflow import audit, networks, users

QUEUE = "/api/v1/admin/requests"
ADMIN = "bench-admin"
PASSWORD = "bench password, not a secret"
MAX_RATIO = 1.5

NWID = "8056c2e21c000001"
NWID_B = "8056c2e21c000002"
NETWORKS = [
    {
        "zt_network_id": NWID,
        "name": "ZT-IX Frankfurt",
        "ipv4_prefix": "192.0.2.0/24",
        "ipv6_prefix": "2001:db8:ab::/64",
    },
    {
        "zt_network_id": NWID_B,
        "name": "ZT-IX Lab",
        "ipv4_prefix": "198.51.100.0/24",
        "ipv6_prefix": "2001:db8:cd::/64",
    },
]
NETWORK_WEIGHTS = {NWID: 7, NWID_B: 3}

S = RequestStatus
# A long-running IX: most requests are history (removed, rejected) or live members.
STATUS_WEIGHTS: dict[RequestStatus, float] = {
    S.REMOVED: 0.30,
    S.ACTIVE: 0.27,
    S.REJECTED: 0.18,
    S.CANCELLED: 0.08,
    S.PENDING: 0.08,
    S.FAILED: 0.03,
    S.APPROVED: 0.02,
    S.PROVISIONING: 0.02,
    S.DEPROVISIONING: 0.02,
}
# Requests still in flight are recent; the rest spread over two years.
RECENT = frozenset({S.PENDING, S.APPROVED, S.PROVISIONING, S.FAILED})
HISTORY = timedelta(days=730)
PREVIOUS: dict[RequestStatus, RequestStatus] = {
    S.APPROVED: S.PENDING,
    S.REJECTED: S.PENDING,
    S.CANCELLED: S.PENDING,
    S.PROVISIONING: S.APPROVED,
    S.ACTIVE: S.PROVISIONING,
    S.FAILED: S.PROVISIONING,
    S.DEPROVISIONING: S.ACTIVE,
    S.REMOVED: S.DEPROVISIONING,
}
REJECT_REASONS = (
    "ASN not in PeeringDB",
    "no IRR records for this ASN",
    "duplicate of an active port",
    "contact did not answer",
)
PUBLIC_ASNS = [a for a in range(1000, 60000) if a != 23456]


@dataclass(frozen=True)
class Case:
    name: str
    params: dict[str, Any]


@dataclass
class Dataset:
    size: int
    statuses: Counter[str]
    per_network: Counter[str]
    distinct_asns: int
    busiest_asn: int
    busiest_asn_requests: int
    members: int
    audit_events: int
    load_seconds: float


@dataclass
class Plan:
    summary: str
    text: str
    seq_scan: bool
    buffers: int | None
    table_buffers: int | None  # of which the scans of join_requests


@dataclass
class CaseResult:
    case: Case
    samples_ms: list[float]
    statements: Counter[int]
    statement_texts: list[str]
    total: int
    items: int
    plans: list[Plan] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.samples_ms, n=20)[18]


@dataclass
class SizeResult:
    dataset: Dataset
    cases: dict[str, CaseResult]
    plan_source: str


# --- scratch database and data ---------------------------------------------------------


def make_settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        networks=NETWORKS,
        workflow={"approval_mode": "manual_admin"},
        peeringdb={"enabled": False},
        auth={"cookie_secure": False},
    )


def prepare(database: Database, settings: Settings) -> tuple[int, dict[str, int]]:
    """The admin and the IX networks, made by the real workflow code."""
    with database.session() as db:
        networks.sync_networks(db, audit.SYSTEM, settings.networks)
        admin = users.create_local_user(
            db, audit.CLI, username=ADMIN, password=PASSWORD, admin=True
        )
        admin_id = admin.id
        network_ids = {n.zt_network_id: n.id for n in db.scalars(select(IxNetwork))}
    return admin_id, network_ids


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def load(url: str, size: int, seed: int, admin_id: int, network_ids: dict[str, int]) -> Dataset:
    """COPY ``size`` join requests (and ~2 audit events each) in one transaction."""
    started = time.perf_counter()
    rng = random.Random(seed * 1_000_003 + size)
    now = datetime.now(UTC)
    status_list = list(STATUS_WEIGHTS)
    statuses = rng.choices(status_list, weights=list(STATUS_WEIGHTS.values()), k=size)
    # Many distinct ASNs (about five requests each), a few much busier than the rest.
    pool = rng.sample(PUBLIC_ASNS, k=min(len(PUBLIC_ASNS), max(20, size // 5)))
    asns = rng.choices(pool, weights=[1 / (i + 1) ** 0.7 for i in range(len(pool))], k=size)
    # Distinct node IDs: 10 hex digits, never 0000000000, never starting with ff. Every
    # request has its own node, so the one-open-request-per-(asn, network, node) index holds.
    nodes = rng.sample(range(1, 0xFF00000000), k=size)
    nwids = rng.choices(list(NETWORK_WEIGHTS), weights=list(NETWORK_WEIGHTS.values()), k=size)
    n_members = min(500, max(10, size // 200))

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY users (username, display_name, role, is_active, peeringdb_id, created_at)"
            " FROM STDIN"
        ) as copy:
            for i in range(n_members):
                pdb_id = 100_000 + i
                copy.write_row(
                    (f"peeringdb:{pdb_id}", f"Member {i}", "operator", True, pdb_id, now - HISTORY)
                )
        members = [
            (row[0], row[1])
            for row in cur.execute(
                "SELECT id, username FROM users WHERE role = 'operator' ORDER BY id"
            )
        ]
        audit_rows: list[tuple[Any, ...]] = []
        with cur.copy(
            "COPY join_requests (id, asn, network_id, node_id, status, notes, created_by_id,"
            " created_at, updated_at, decided_by_id, decided_at, decision_reason,"
            " approved_by_policy, last_error_code, last_error_message, last_error_system,"
            " attempts) FROM STDIN"
        ) as copy:
            for i in range(size):
                status = statuses[i]
                if status in RECENT:
                    age = timedelta(seconds=min(rng.expovariate(1 / (3 * 86400)), 60 * 86400))
                else:
                    age = HISTORY * rng.random()
                created = now - age
                member_id, member_name = members[rng.randrange(n_members)]
                decided = decided_by = reason = None
                error: tuple[str | None, str | None, str | None] = (None, None, None)
                attempts = 0
                if status not in (S.PENDING, S.CANCELLED):
                    decided = min(created + timedelta(seconds=rng.expovariate(1 / 86400)), now)
                    decided_by = admin_id
                updated = decided or created
                if status in (S.ACTIVE, S.REMOVED, S.DEPROVISIONING, S.FAILED, S.CANCELLED):
                    updated += (now - updated) * rng.random() ** 3
                if status in (S.PROVISIONING, S.ACTIVE, S.DEPROVISIONING, S.REMOVED):
                    attempts = rng.randint(1, 2)
                if status is S.REJECTED:
                    reason = rng.choice(REJECT_REASONS)
                if status is S.FAILED:
                    attempts = 5
                    error = ("controller_unreachable", "controller timed out", "zerotier")
                request_id = _uuid(rng)
                nwid = nwids[i]
                copy.write_row(
                    (
                        request_id,
                        asns[i],
                        network_ids[nwid],
                        f"{nodes[i]:010x}",
                        status.value,
                        "",
                        member_id,
                        created,
                        updated,
                        decided_by,
                        decided,
                        reason,
                        False,
                        *error,
                        attempts,
                    )
                )
                details = {"asn": asns[i], "zt_network_id": nwid, "node_id": f"{nodes[i]:010x}"}
                audit_rows.append(
                    (created, member_id, member_name, "request.created", request_id, None,
                     S.PENDING.value, json.dumps(details))
                )  # fmt: skip
                if status is not S.PENDING:
                    by_admin = status in (S.APPROVED, S.REJECTED)
                    audit_rows.append(
                        (
                            updated,
                            admin_id if by_admin else None,
                            ADMIN if by_admin else "system",
                            f"request.{status.value}",
                            request_id,
                            PREVIOUS[status].value,
                            status.value,
                            json.dumps({"reason": reason} if reason else {}),
                        )
                    )
        with cur.copy(
            "COPY audit_events (occurred_at, actor_user_id, actor, action, target_type,"
            " target_id, request_id, from_status, to_status, details, correlation_id)"
            " FROM STDIN"
        ) as copy:
            for occurred, uid, actor, action, rid, old, new, details_json in audit_rows:
                copy.write_row(
                    (occurred, uid, actor, action, "request", str(rid), rid, old, new,
                     details_json, uuid.UUID(int=rid.int ^ 1).hex[:16])
                )  # fmt: skip
        # The maintained counters, set to the truth.
        cur.execute(
            "UPDATE request_status_counts c SET count = (SELECT count(*) FROM join_requests j"
            " WHERE j.status = c.status AND j.network_id = c.network_id)"
        )
        open_dupes = cur.execute(
            "SELECT count(*) FROM (SELECT 1 FROM join_requests WHERE status NOT IN ("
            + ", ".join(f"'{s.value}'" for s in sorted(CLOSED_STATUSES))
            + ") GROUP BY asn, network_id, node_id HAVING count(*) > 1) d"
        ).fetchone()
        assert open_dupes is not None and open_dupes[0] == 0
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        counted: dict[str, int] = dict(
            conn.execute(
                "SELECT status, sum(count) FROM request_status_counts GROUP BY status"
            ).fetchall()
        )
    by_status = Counter(s.value for s in statuses)
    assert all(counted[s.value] == by_status[s.value] for s in RequestStatus), counted
    by_asn = Counter(asns)
    busiest, busiest_n = by_asn.most_common(1)[0]
    return Dataset(
        size=size,
        statuses=by_status,
        per_network=Counter(nwids),
        distinct_asns=len(by_asn),
        busiest_asn=busiest,
        busiest_asn_requests=busiest_n,
        members=n_members,
        audit_events=len(audit_rows),
        load_seconds=time.perf_counter() - started,
    )


def cases_for(dataset: Dataset) -> list[Case]:
    return [
        Case("default (newest first)", {}),
        Case("status=pending", {"status": "pending"}),
        Case(f"asn={dataset.busiest_asn} (busiest ASN)", {"asn": dataset.busiest_asn}),
        Case(f"zt_network_id={NWID}", {"zt_network_id": NWID}),
        Case("min_age_minutes=60", {"min_age_minutes": 60}),
        Case("sort=asn", {"sort": "asn"}),
    ]


# --- serving and measuring -------------------------------------------------------------


class StatementLog:
    """Every SQL statement the app's engine sends, via ``before_cursor_execute``."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    def reset(self) -> None:
        self.statements = []


def login(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/auth/local/login", json={"username": ADMIN, "password": PASSWORD}
    )
    response.raise_for_status()
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]


def check_page(response: httpx.Response, case: Case) -> tuple[int, int]:
    if response.status_code != 200:
        raise RuntimeError(f"{case.name}: HTTP {response.status_code}: {response.text[:300]}")
    body = response.json()
    total, items = int(body["total"]), len(body["items"])
    if items != min(50, total):
        raise RuntimeError(f"{case.name}: {items} items on the first page of {total}")
    return total, items


def measure(
    database: Database, settings: Settings, cases: list[Case], repeat: int, warmup: int
) -> dict[str, CaseResult]:
    log = StatementLog()
    event.listen(database.engine, "before_cursor_execute", log)
    results: dict[str, CaseResult] = {}
    try:
        app = create_app(settings, database=database)
        with (
            serve_in_thread(app, lifespan=False) as base_url,
            httpx.Client(base_url=base_url, timeout=60) as client,
        ):
            login(client)
            for case in cases:
                for _ in range(warmup):
                    response = client.get(QUEUE, params=case.params)
                log.reset()
                response = client.get(QUEUE, params=case.params)
                total, items = check_page(response, case)
                results[case.name] = CaseResult(
                    case, [], Counter(), list(log.statements), total, items
                )
            # Round-robin over the cases, so drift on the machine hits all of them alike.
            for _ in range(repeat):
                for case in cases:
                    log.reset()
                    start = time.perf_counter_ns()
                    response = client.get(QUEUE, params=case.params)
                    elapsed = time.perf_counter_ns() - start
                    if response.status_code != 200:
                        raise RuntimeError(f"{case.name}: HTTP {response.status_code}")
                    result = results[case.name]
                    result.samples_ms.append(elapsed / 1e6)
                    result.statements[len(log.statements)] += 1
    finally:
        event.remove(database.engine, "before_cursor_execute", log)
    return results


# --- plans -----------------------------------------------------------------------------

QUEUE_TABLES = re.compile(r"\b(join_requests|request_status_counts)\b")
TOP_NODE = re.compile(r"^\S.*\(cost=", re.MULTILINE)
BUFFERS = re.compile(r"Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?")


SCAN_NODE = re.compile(
    r"((?:Seq Scan|Index Only Scan|Index Scan(?: Backward)?|Bitmap Heap Scan)"
    r" (?:using \S+ )?on join_requests)\b.*?\(actual time=\S+ rows=(\d+)"
)


def growth(small: CaseResult, large: CaseResult) -> str:
    """Which statement's work grew the most between sizes, and how it scans join_requests."""
    pairs = [
        (p.buffers / max(q.buffers, 1), p, q)
        for p, q in zip(large.plans, small.plans, strict=False)
        if p.buffers is not None and q.buffers is not None
    ]
    if not pairs:
        return ""
    _, plan, before = max(pairs, key=lambda pair: pair[0])
    scans = "; ".join(f"{node}, {int(rows):,} rows" for node, rows in SCAN_NODE.findall(plan.text))
    return (
        f": the {statement_kind(plan.summary)} statement reads {before.buffers:,} → "
        f"{plan.buffers:,} buffers ({scans}): `{plan.summary}`"
    )


def summarize_sql(sql: str) -> str:
    sql = " ".join(sql.split())
    sql = re.sub(r"^SELECT (.{60,}?) FROM ", "SELECT … FROM ", sql)
    # Keep both ends: the tables and the WHERE / ORDER BY / LIMIT.
    return sql if len(sql) <= 260 else f"{sql[:130]} … {sql[-125:]}"


def statement_kind(sql: str) -> str:
    if "request_status_counts" in sql:
        return "status counters"
    if "count(*)" in sql:
        return "count (total)"
    if "LIMIT" in sql:
        return "page (list)"
    return "other"


def make_plan(sql: str, plan_text: str) -> Plan:
    plan_text = plan_text.rstrip()
    lines = plan_text.splitlines()
    table_buffers: int | None = None
    for i, line in enumerate(lines):
        if SCAN_NODE.search(line):
            # A scan node's own Buffers line is the first one after it.
            own = next((b for b in lines[i + 1 :] if "Buffers:" in b), "")
            table_buffers = (table_buffers or 0) + count_buffers(own)
    return Plan(
        summary=summarize_sql(sql),
        text=plan_text,
        seq_scan="Seq Scan on join_requests" in plan_text,
        buffers=count_buffers(plan_text) if BUFFERS.search(plan_text) else None,
        table_buffers=table_buffers,
    )


def count_buffers(text: str) -> int:
    match = BUFFERS.search(text)
    return int(match.group(1) or 0) + int(match.group(2) or 0) if match else 0


def parse_auto_explain(message: str) -> tuple[str, str] | None:
    """Split an auto_explain notice into its query text and its plan."""
    _, _, rest = message.partition("Query Text: ")
    node = TOP_NODE.search(rest)
    if not rest or node is None:
        return None
    return rest[: node.start()], rest[node.start() :]


def auto_explain_database(url: str, notices: list[str]) -> Database:
    database = Database(url)

    def setup(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        with dbapi_conn.cursor() as cur:
            cur.execute("LOAD 'auto_explain'")
            for name, value in (
                ("log_min_duration", "0"),
                ("log_analyze", "on"),
                ("log_buffers", "on"),
                ("log_timing", "on"),
                ("log_level", "notice"),
            ):
                cur.execute(f"SET auto_explain.{name} = {value}")
        dbapi_conn.commit()

    event.listen(database.engine, "connect", setup)
    return database


def auto_explain_available(url: str) -> bool:
    try:
        with psycopg.connect(url) as conn:
            conn.execute("LOAD 'auto_explain'")
    except psycopg.Error as exc:
        print(f"auto_explain unavailable ({exc}); running EXPLAIN instead", file=sys.stderr)
        return False
    return True


def capture_plans(url: str, settings: Settings, results: dict[str, CaseResult]) -> str:
    """The plans PostgreSQL really runs, once warm (psycopg prepares after 5 executions and
    PostgreSQL may then switch to a generic plan): ``auto_explain`` on a second engine."""
    if not auto_explain_available(url):
        return explain_directly(url, settings, results)
    notices: list[str] = []
    database = auto_explain_database(url, notices)
    try:
        app = create_app(settings, database=database)
        with (
            serve_in_thread(app, lifespan=False) as base_url,
            httpx.Client(base_url=base_url, timeout=60) as client,
        ):
            login(client)
            for result in results.values():
                for _ in range(15):
                    client.get(QUEUE, params=result.case.params).raise_for_status()
                notices.clear()
                client.get(QUEUE, params=result.case.params).raise_for_status()
                for message in notices:
                    parsed = parse_auto_explain(message)
                    if parsed and QUEUE_TABLES.search(parsed[0]):
                        result.plans.append(make_plan(*parsed))
    finally:
        database.dispose()
    return "auto_explain (log_analyze, log_buffers) on the app's own queries, after warm-up"


def explain_directly(url: str, settings: Settings, results: dict[str, CaseResult]) -> str:
    """Fallback without auto_explain: EXPLAIN (ANALYZE, BUFFERS) of the captured statements."""
    database = Database(url)
    captured: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_a: Any) -> None:
        captured.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        app = create_app(settings, database=database)
        with (
            serve_in_thread(app, lifespan=False) as base_url,
            httpx.Client(base_url=base_url, timeout=60) as client,
        ):
            login(client)
            for result in results.values():
                captured.clear()
                client.get(QUEUE, params=result.case.params).raise_for_status()
                queue_statements = [c for c in captured if QUEUE_TABLES.search(c[0])]
                with database.engine.connect() as conn:
                    for statement, parameters in queue_statements:
                        rows = conn.exec_driver_sql(
                            "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                        )
                        plan = "\n".join(r[0] for r in rows)
                        result.plans.append(make_plan(statement, plan))
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
        database.dispose()
    return "EXPLAIN (ANALYZE, BUFFERS) of the app's statements with their parameters (custom plans)"


# --- one size --------------------------------------------------------------------------


def run_size(dsn: str, size: int, args: argparse.Namespace) -> SizeResult:
    with scratch_database(dsn, str(size)) as url:
        print(f"[{size}] migrating", file=sys.stderr)
        migrate.upgrade(url)
        settings = make_settings(url)
        database = Database(url)
        try:
            admin_id, network_ids = prepare(database, settings)
            print(f"[{size}] loading", file=sys.stderr)
            dataset = load(url, size, args.seed, admin_id, network_ids)
            print(f"[{size}] loaded in {dataset.load_seconds:.1f}s; measuring", file=sys.stderr)
            cases = cases_for(dataset)
            results = measure(database, settings, cases, args.repeat, args.warmup)
        finally:
            database.dispose()
        print(f"[{size}] capturing plans", file=sys.stderr)
        return SizeResult(dataset, results, capture_plans(url, settings, results))


# --- report ----------------------------------------------------------------------------


def fmt(ms: float) -> str:
    return f"{ms:.2f} ms"


def statement_counts(counter: Counter[int]) -> str:
    return ", ".join(
        f"{n} x{times}" if len(counter) > 1 else str(n) for n, times in sorted(counter.items())
    )


def render(
    run: Run, sizes: list[SizeResult], repeat: int, warmup: int, dsn: str
) -> tuple[str, list[str]]:
    small, large = sizes[0], sizes[-1]
    s_n, l_n = small.dataset.size, large.dataset.size
    findings: list[str] = []
    out: list[str] = [anchor(run.module)]
    add = out.append
    add("## Admin request queue: first page at scale\n")
    add(
        f"Requirement: with {l_n:,} requests in PostgreSQL, the first page of "
        f"`GET {QUEUE}` costs no more than {MAX_RATIO}x what it costs with {s_n:,}.\n"
    )
    add("```sh")
    add(run.command)
    add("```\n")
    out.extend(run.lines())
    add(f"- Software: {pg_version(dsn)}; Python {platform.python_version()}")
    add(
        "- Method: the real app served by uvicorn on 127.0.0.1 in the benchmark process, an "
        "httpx client logged in as an admin (session cookie); per case "
        f"{warmup} warm-up requests, then {repeat} timed requests, the cases interleaved "
        "round-robin. Time is the client's: request sent to body received. Page size 50."
    )
    add(
        "- Data: COPY-loaded join requests, statuses weighted to history (removed, active, "
        "rejected), in-flight requests recent, the rest over two years; ~5 requests per ASN "
        "with a few busy ASNs; one node ID per request; two IX networks (70/30); "
        "one or two audit events per request; `request_status_counts` set to the true "
        "counts; `VACUUM (ANALYZE)` after loading.\n"
    )
    add("| requests | distinct ASNs | busiest ASN | pending | audit events | load time |")
    add("|---:|---:|---:|---:|---:|---:|")
    for r in sizes:
        d = r.dataset
        add(
            f"| {d.size:,} | {d.distinct_asns:,} | AS{d.busiest_asn} ({d.busiest_asn_requests:,}"
            f" requests) | {d.statuses['pending']:,} | {d.audit_events:,} "
            f"| {d.load_seconds:.1f} s |"
        )
    add("")
    add("### Latency of the first page\n")
    header = "| case |"
    rule = "|---|"
    for r in sizes:
        header += f" {r.dataset.size:,}: median | p95 | total |"
        rule += "---:|---:|---:|"
    header += f" ratio of medians {l_n:,}/{s_n:,} | ≤ {MAX_RATIO}x |"
    rule += "---:|:---:|"
    add(header)
    add(rule)
    for i in range(len(small.cases)):
        # Case names carry the busiest ASN, which differs per size: match by position.
        row_results = [list(r.cases.values())[i] for r in sizes]
        label = row_results[-1].case.name
        line = f"| `{label}` |"
        for res in row_results:
            line += f" {fmt(res.median)} | {fmt(res.p95)} | {res.total:,} |"
        ratio = row_results[-1].median / row_results[0].median
        ok = ratio <= MAX_RATIO
        line += f" {ratio:.2f} | {'yes' if ok else '**no**'} |"
        add(line)
        if not ok:
            findings.append(
                f"`{label}`: median ratio {ratio:.2f} > {MAX_RATIO}"
                + growth(row_results[0], row_results[-1])
            )
    add("")
    add("### SQL statements per request\n")
    add(
        "Counted with SQLAlchemy's `before_cursor_execute` on the engine the app uses, for every "
        "timed request (`n xk` means n statements in k requests).\n"
    )
    add("| case | " + " | ".join(f"{r.dataset.size:,}" for r in sizes) + " |")
    add("|---|" + "---:|" * len(sizes))
    for i in range(len(small.cases)):
        row_results = [list(r.cases.values())[i] for r in sizes]
        add(
            f"| `{row_results[-1].case.name}` | "
            + " | ".join(statement_counts(res.statements) for res in row_results)
            + " |"
        )
        per_size = [set(res.statements) for res in row_results]
        if any(s != per_size[0] for s in per_size):
            findings.append(
                f"`{row_results[-1].case.name}`: statement count changes with size "
                f"({' vs '.join(statement_counts(res.statements) for res in row_results)})"
            )
    add("")
    default = next(iter(large.cases.values()))
    add(f"The statements of one `{default.case.name}` request at {l_n:,}:\n")
    for n, sql in enumerate(default.statement_texts, 1):
        add(f"{n}. `{summarize_sql(sql)}`")
    add("")
    if large.plan_source:
        add(f"### Plans at {l_n:,} requests\n")
        add(
            f"Source: {large.plan_source}. Buffers: shared hit + read of the whole statement, "
            "in brackets those of its scans of `join_requests` (the rest is mostly the "
            f"`pk_users` look-ups of the page's creators: {small.dataset.members} member "
            f"accounts at {s_n:,}, {large.dataset.members} at {l_n:,}).\n"
        )
        add(
            "| case | statement | "
            + " | ".join(f"buffers at {r.dataset.size:,}" for r in sizes if r.plan_source)
            + " | Seq Scan on join_requests |"
        )
        add("|---|---|" + "---:|" * sum(1 for r in sizes if r.plan_source) + ":---:|")
        for i in range(len(large.cases)):
            row_results = [list(r.cases.values())[i] for r in sizes if r.plan_source]
            res = row_results[-1]
            for j, plan in enumerate(res.plans):
                bufs = []
                for other in row_results:
                    p = other.plans[j] if j < len(other.plans) else None
                    cell = str(p.buffers) if p and p.buffers is not None else "-"
                    if p and p.table_buffers is not None:
                        cell += f" ({p.table_buffers})"
                    bufs.append(cell)
                add(
                    f"| `{res.case.name}` | {statement_kind(plan.summary)} | "
                    + " | ".join(bufs)
                    + f" | {'**yes**' if plan.seq_scan else 'no'} |"
                )
                if plan.seq_scan:
                    findings.append(
                        f"`{res.case.name}`: Seq Scan on join_requests in `{plan.summary}`"
                    )
        add("")
        for res in large.cases.values():
            add(f"<details><summary><code>{res.case.name}</code></summary>\n")
            for plan in res.plans:
                add(f"`{plan.summary}`\n")
                add("```text")
                add(plan.text)
                add("```\n")
            add("</details>\n")
    add("### Verdict\n")
    if findings:
        add(f"The requirement is **not met** at {l_n:,} requests:\n")
        for f in findings:
            add(f"- {f}")
    else:
        add(
            f"Every case is within {MAX_RATIO}x at {l_n:,} requests, the number of statements "
            "per request does not depend on the size (no N+1), and no plan scans "
            "`join_requests` sequentially."
        )
    add("")
    return "\n".join(out), findings


def summary(sizes: list[SizeResult], findings: list[str]) -> Summary:
    small, large = sizes[0], sizes[-1]
    first = [next(iter(r.cases.values())) for r in (small, large)]
    worst = worst_ratio(sizes)
    verdict = "met" if not findings else "**not met**"
    return Summary(
        title="Admin queue, first page",
        figure=f"`GET {QUEUE}` at {large.dataset.size:,} requests: median "
        f"{fmt(first[1].median)} (newest first); worst ratio over {len(large.cases)} "
        f"filters {worst:.2f} (≤ {MAX_RATIO}x: {verdict})",
        baseline=f"the same page at {small.dataset.size:,} requests: median {fmt(first[0].median)}",
    )


# --- main ------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.admin_queue", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", default="1000,100000", help="comma-separated request counts")
    parser.add_argument("--repeat", type=int, default=200, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per case")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dsn", default=DEFAULT_DSN, help="a PostgreSQL database to connect to")
    parser.add_argument("--write-docs", action="store_true", help=f"update {DOCS.name}")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when the requirement is not met"
    )
    parser.add_argument(
        "--short", action="store_true", help="make bench's mode: 1,000 and 10,000 requests, "
        "30 timed requests per case"
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.short:
        args.sizes, args.repeat, args.warmup = "1000,10000", 30, 5
    args.size_list = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    if len(args.size_list) < 2 or args.size_list[0] < 1:
        parser.error("--sizes needs at least two positive sizes")
    if args.repeat < 20:
        parser.error("--repeat must be at least 20 (p95)")
    return args


def worst_ratio(sizes: list[SizeResult]) -> float:
    """The largest ratio, over the cases, of the first page's median at the largest size to
    that at the smallest."""
    small, large = sizes[0], sizes[-1]
    return max(
        list(large.cases.values())[i].median / list(small.cases.values())[i].median
        for i in range(len(large.cases))
    )


def main(argv: list[str] | None = None) -> list[rows.Row]:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    run = Run.start("admin_queue", argv)
    results = [run_size(args.dsn, size, args) for size in args.size_list]
    run.finish()
    report, findings = render(run, results, args.repeat, args.warmup, args.dsn)
    write_report(run, report, docs=args.write_docs, summary=summary(results, findings))
    small, large = results[0].dataset.size, results[-1].dataset.size
    worst = worst_ratio(results)
    return [
        rows.at_most(
            "admin_queue",
            f"admin queue first page, median at {large:,} / at {small:,} requests "
            f"(worst of {len(results[-1].cases)} filters)",
            worst,
            MAX_RATIO,
            "x",
            command=run.command,
            measured=f"{worst:.2f} x",
        )
    ]


if __name__ == "__main__":
    sys.exit(rows.run(main))
