"""Benchmark: BIRD 2 route-server configuration at IX scale.

    uv run python -m bench.routeservers [--sizes 10,100,1000,2000] [--sync-members 2000]
                                        [--approvals 500] [--write-docs]

Three parts, all on this machine with the real BIRD 2 (``/usr/sbin/bird``):

1. Render: for each size, synthetic members (public ASNs, distinct node IDs, dual-stack
   addresses inside a /21 IPv4 and a /64 IPv6 peering LAN, realistic IRR data) and one
   RPKI validator; the median time of ``render()`` over a few runs, the file count and
   bytes, and how long ``bird -p`` takes to parse the set (through a host bird.conf that
   includes it, as on a route server).
2. Full sync: a BIRD started for the benchmark; ``apply()`` with the local transport puts
   the members in place (upload, configure, verify, confirm; each stage timed by
   wrapping the transport), then the same set again (unchanged: no reconfigure), then the
   set with one more member (an incremental apply).
3. Bulk approvals: a SQLite file database, the ZeroTier controller emulator, one BIRD route
   server in the settings and the in-process job runner (4 threads; the real
   ``process_request`` and ``sync_route_servers``). N requests are created, then approved
   one transaction each, as fast as the service layer goes; the time until all are active,
   the number of BIRD reconfigures (``RouteServerState.reconfigure_count``) and the sync
   rounds and passes are reported.

The report goes to ``bench/results/routeservers.md`` and, with ``--write-docs``, into the
``bench:routeservers`` section of ``docs/performance.md``.

This is a benchmark, not a test: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import ipaddress as ip
import logging
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

import ztix.jobs.runner as runner_module
from bench import rows
from bench.common import DOCS, Run, Summary, anchor, write_report
from ztix.config import Settings
from ztix.db import migrate
from ztix.db.models import AuditEvent, IrrData, JoinRequest, RouteServerState, User
from ztix.db.session import Database
from ztix.irr.bgpq4 import Expansion
from ztix.jobs.runner import InProcessRunner
from ztix.jobs.tasks import JobContext, sync_route_servers
from ztix.routeserver.apply import ApplyResult, apply, parse_protocol_names
from ztix.routeserver.local import LocalTransport
from ztix.routeserver.manifest import FileStat, Manifest
from ztix.routeserver.model import DesiredConfig, Peer, RouteServer, RpkiValidator
from ztix.routeserver.render import (
    RenderCache,
    expected_protocols,
    render,
    render_host_config,
)
from ztix.routeserver.transport import BirdcReply, Deployment
from ztix.workflow import audit, dispatch, users
from ztix.workflow import requests as service
from ztix.workflow.controller import startup_check
from ztix.workflow.irr import data_hash as irr_hash
from ztix.workflow.routeserver_desired import irr_cache, with_irr
from ztix.workflow.routeservers import ServerOutcome, gate_for
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.emulator import ControllerEmulator

BIRD = shutil.which("bird") or "/usr/sbin/bird"
BIRDC = shutil.which("birdc") or "/usr/sbin/birdc"
INITIAL_ZTIX_CONF = "# placeholder until ZT-IX's first apply\n"

LAN4 = ip.IPv4Network("100.64.0.0/21")
LAN6 = ip.IPv6Network("2001:db8:ab::/64")
RS_ASN = 6695
RS_IPV4 = LAN4[1]
RS_IPV6 = LAN6[1]
VALIDATOR = RpkiValidator("routinator", ip.IPv4Address("127.0.0.1"), 3323)
CONFIGURE_TIMEOUT = 60
STAGES = ("read", "upload", "configure", "verify", "confirm", "record")

log = logging.getLogger("bench.routeservers")


# --- synthetic members ------------------------------------------------------------------


def member_asn(i: int) -> int:
    """Public ASNs: 16-bit ones from AS1000 on, every fourth a 32-bit one from AS200000."""
    return 200_000 + i if i % 4 == 3 else 1000 + i


def member_node(i: int) -> str:
    return f"{0x1000000000 + i:010x}"


def irr_sizes(i: int) -> tuple[int, int, int]:
    """(IPv4 prefixes, IPv6 prefixes, origin ASNs) in member ``i``'s AS-SET: realistic
    sizes, not placeholders: 1 to 50 IPv4 and 1 to 10 IPv6 prefixes and 1 to 5 origins, and
    every 250th member a transit network with 3,000 IPv4 and 500 IPv6 prefixes and 300
    origins."""
    if i % 250 == 249:
        return 3000, 500, 300
    return 1 + (i * 7) % 50, 1 + (i * 3) % 10, 1 + i % 5


def irr_data(
    i: int, asn: int
) -> tuple[tuple[ip.IPv4Network, ...], tuple[ip.IPv6Network, ...], tuple[int, ...]]:
    """Member ``i``'s IRR prefixes (IPv4 /24s, IPv6 /48s, distinct across members) and
    origin ASNs (its own first)."""
    v4n, v6n, origins = irr_sizes(i)
    v4 = tuple(ip.IPv4Network((0x2C000000 + ((i * 4096 + k) << 8), 24)) for k in range(v4n))
    v6 = tuple(ip.IPv6Network(((0x2A0E << 112) + ((i * 1024 + k) << 80), 48)) for k in range(v6n))
    return v4, v6, (asn, *(4_200_000 + i * 400 + k for k in range(origins - 1)))


def member(i: int) -> Peer:
    """Member ``i`` as the desired state's builder makes it before its IRR data."""
    asn = member_asn(i)
    node = member_node(i)
    return Peer(
        request_id=str(uuid.UUID(int=i + 1)),
        asn=asn,
        node_id=node,
        ipv4=LAN4[10 + i],
        ipv6=LAN6[0x10000 + i],
        max_prefix_ipv4=100 + i % 400,
        max_prefix_ipv6=50,
        description=f"AS{asn} {node}",
    )


@functools.cache
def stored_irr(i: int) -> IrrData:
    """Member ``i``'s IRR data as the IRR refresh stores it (``irr_data`` rows: the prefixes
    and origins as JSON lists, and their ``data_hash``), made once per process as the rows
    stay in the database from one pass to the next."""
    v4, v6, origins = irr_data(i, member_asn(i))
    got = Expansion(prefixes_ipv4=v4, prefixes_ipv6=v6, origins=origins)
    return IrrData(
        asn=member_asn(i),
        prefixes_ipv4=[str(n) for n in v4],
        prefixes_ipv6=[str(n) for n in v6],
        origins=list(origins),
        data_hash=irr_hash(got),
    )


def with_stored_irr(peers: list[Peer], members: dict[int, int]) -> list[Peer]:
    """``peers`` with their IRR data as a sync pass gets it: through the process's IRR cache
    (``routeserver_desired.irr_cache``), from the stored rows' hashes, parsing only the
    rows whose data changed since the last pass (``members``: ASN to member index)."""
    hashes = {asn: stored_irr(i).data_hash for asn, i in members.items()}
    parsed = irr_cache.networks(
        "bench", hashes, lambda missing: {asn: stored_irr(members[asn]) for asn in missing}
    )
    return [with_irr(p, parsed.get(p.asn)) for p in peers]


def route_server(config_dir: str) -> RouteServer:
    return RouteServer(
        name="rs1",
        asn=RS_ASN,
        router_id=RS_IPV4,
        ipv4=RS_IPV4,
        ipv6=RS_IPV6,
        ipv4_prefix=LAN4,
        ipv6_prefix=LAN6,
        config_dir=config_dir,
        validators=(VALIDATOR,),
    )


def desired(count: int, config_dir: str) -> DesiredConfig:
    """The desired state of ``count`` members, built as ``routeserver_desired.build`` builds
    it every pass: afresh, the IRR data through the process's IRR cache."""
    members = {member_asn(i): i for i in range(count)}
    peers = with_stored_irr([member(i) for i in range(count)], members)
    return DesiredConfig(server=route_server(config_dir), peers=tuple(peers))


def write_files(config_dir: Path, files: Mapping[str, str]) -> None:
    for relative, content in files.items():
        path = config_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


# --- 1. render ----------------------------------------------------------------------------


@dataclass
class RenderResult:
    members: int
    runs: int
    render_ms: float
    files: int
    total_bytes: int
    parse_ms: float
    parse_ok: bool
    parse_output: str = ""


def bench_render(sizes: list[int], runs: int, work: Path) -> list[RenderResult]:
    results: list[RenderResult] = []
    for size in sizes:
        root = work / f"render-{size}"
        config_dir = root / "ztix"
        state = desired(size, str(config_dir))
        render(state)  # warm: templates, imports
        times = []
        files: dict[str, str] = {}
        for _ in range(runs):
            started = time.perf_counter()
            files = render(state)
            times.append(time.perf_counter() - started)
        write_files(config_dir, files)
        main = root / "bird.conf"
        main.write_text(render_host_config(state.server, log_file=str(root / "bird.log")))
        parse_times = []
        done = None
        for _ in range(3):
            started = time.perf_counter()
            done = subprocess.run(
                [BIRD, "-p", "-c", str(main)], capture_output=True, text=True, check=False
            )
            parse_times.append(time.perf_counter() - started)
        assert done is not None
        results.append(
            RenderResult(
                members=size,
                runs=runs,
                render_ms=statistics.median(times) * 1e3,
                files=len(files),
                total_bytes=sum(len(c.encode()) for c in files.values()),
                parse_ms=statistics.median(parse_times) * 1e3,
                parse_ok=done.returncode == 0,
                parse_output=(done.stdout + done.stderr).strip()[:500],
            )
        )
        log.info("render %d members: %.1f ms", size, results[-1].render_ms)
        shutil.rmtree(root, ignore_errors=True)
    return results


# --- a BIRD for the benchmark -------------------------------------------------------------


@dataclass
class Bird:
    root: Path
    config_dir: Path
    main_config: Path
    socket: Path
    process: subprocess.Popen[bytes]

    def birdc(self, *args: str) -> BirdcReply:
        done = subprocess.run(
            [BIRDC, "-v", "-s", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return BirdcReply(done.returncode, done.stdout + done.stderr)

    def protocol_count(self) -> int:
        return len(set(parse_protocol_names(self.birdc("show", "protocols"))))

    def memory(self) -> str:
        for _, text in self.birdc("show", "memory").lines:
            parts = text.split()
            if parts[:1] == ["Total:"] and len(parts) >= 5:  # Total: 3059.1 kB 160.8 kB
                return f"{parts[1]} {parts[2]} effective, {parts[3]} {parts[4]} overhead"
            if parts[:1] == ["Total:"]:
                return " ".join(parts[1:])
        return "?"

    def transport(self) -> LocalTransport:
        return LocalTransport(self.config_dir, birdc_socket=self.socket)


def _wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


@contextmanager
def running_bird(root: Path) -> Iterator[Bird]:
    """A BIRD in the foreground under ``root``: its bird.conf (the host part, as
    render_host_config writes it) includes ``<config_dir>/ztix.conf``."""
    for path in (BIRD, BIRDC):
        if not Path(path).is_file():
            raise SystemExit(f"{path} is missing: install the Debian package bird2")
    config_dir = root / "etc" / "ztix" / "live"
    config_dir.mkdir(parents=True)
    (config_dir / "ztix.conf").write_text(INITIAL_ZTIX_CONF)
    main_config = root / "etc" / "bird.conf"
    main_config.write_text(
        render_host_config(route_server(str(config_dir)), log_file=str(root / "bird.log"))
    )
    sock = root / "bird.ctl"
    process = subprocess.Popen(
        [BIRD, "-f", "-c", str(main_config), "-s", str(sock), "-P", str(root / "bird.pid")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    bird = Bird(root, config_dir, main_config, sock, process)

    def answers() -> bool:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"bird exited: {stderr}")
        return sock.exists() and 13 in bird.birdc("show", "status").codes

    try:
        _wait_until(answers, 10, "BIRD to answer on its socket")
        _wait_until(
            lambda: "up and running" in bird.birdc("configure", "status").output,
            10,
            "BIRD to finish its first configuration",
        )
        yield bird
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextmanager
def short_dir(prefix: str) -> Iterator[Path]:
    """A short path: a Unix socket path must stay under 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- 2. full sync -------------------------------------------------------------------------


class TimedTransport:
    """The local transport, with the seconds spent in each apply stage added up."""

    def __init__(self, inner: LocalTransport) -> None:
        self.inner = inner
        self.seconds: dict[str, float] = defaultdict(float)
        self.configure_codes: set[int] = set()
        self.uploaded: int | None = None  # files written (the others hard-linked)

    @property
    def host(self) -> str:
        return self.inner.host

    def _timed(self, stage: str, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return call()
        finally:
            self.seconds[stage] += time.perf_counter() - started

    def read_deployed(self) -> dict[str, str]:
        result: dict[str, str] = self._timed("read", self.inner.read_deployed)
        return result

    def list_deployed(self) -> dict[str, FileStat]:
        result: dict[str, FileStat] = self._timed("read", self.inner.list_deployed)
        return result

    def read_manifest(self) -> Manifest | None:
        result: Manifest | None = self._timed("read", self.inner.read_manifest)
        return result

    def read_applied_hash(self) -> str | None:
        result: str | None = self._timed("read", self.inner.read_applied_hash)
        return result

    def record_applied_hash(self, value: str) -> None:
        self._timed("record", lambda: self.inner.record_applied_hash(value))

    def deploy(self, files: Mapping[str, str], reuse: Collection[str] = ()) -> Deployment:
        self.uploaded = len(files) - len(reuse)
        result: Deployment = self._timed("upload", lambda: self.inner.deploy(files, reuse))
        return result

    def restore(self, deployment: Deployment) -> None:
        self._timed("restore", lambda: self.inner.restore(deployment))

    def birdc(self, *args: str) -> BirdcReply:
        if args[:1] == ("configure",):
            stage = args[1] if len(args) > 1 and args[1] in ("check", "confirm", "undo") else ""
            stage = stage or "configure"
        else:
            stage = "verify"
        reply: BirdcReply = self._timed(stage, lambda: self.inner.birdc(*args))
        if stage == "configure":
            self.configure_codes = reply.codes
        return reply

    def close(self) -> None:
        self.inner.close()


@dataclass
class ApplyRun:
    label: str
    members: int
    render_ms: float
    result: ApplyResult
    stages: dict[str, float]
    configure_codes: set[int]
    protocols: int
    wall_ms: float


@dataclass
class SyncResult:
    runs: list[ApplyRun] = field(default_factory=list)
    memory: str = "?"
    configure_ms: float = 0.0  # BIRD's `configure` of the same set (median): the baseline
    configure_runs: list[float] = field(default_factory=list)


def apply_once(bird: Bird, label: str, count: int, cache: RenderCache) -> ApplyRun:
    state = desired(count, str(bird.config_dir))
    started = time.perf_counter()
    files, _ = cache.rendered("rs1", state)  # as a sync round renders: unchanged peers reused
    render_ms = (time.perf_counter() - started) * 1e3
    transport = TimedTransport(bird.transport())
    started = time.perf_counter()
    result = apply(
        transport,
        files,
        expected_protocols(state),
        main_config=str(bird.main_config),
        timeout_seconds=CONFIGURE_TIMEOUT,
    )
    wall_ms = (time.perf_counter() - started) * 1e3
    transport.close()
    if not result.ok:
        raise RuntimeError(f"{label}: apply failed at {result.stage}: {result.detail}")
    log.info("%s: %s in %.0f ms", label, result.detail, wall_ms)
    return ApplyRun(
        label,
        count,
        render_ms,
        result,
        {k: v * 1e3 for k, v in transport.seconds.items()},
        transport.configure_codes,
        bird.protocol_count(),
        wall_ms,
    )


def time_configure(bird: Bird) -> float:
    """Seconds BIRD takes to `configure` the set it runs (it parses it all, then finds
    nothing to change): what BIRD itself pays for this configuration."""
    started = time.perf_counter()
    reply = bird.birdc("configure", f'"{bird.main_config}"')
    elapsed = time.perf_counter() - started
    if reply.error or not reply.codes & {3, 4, 5}:
        raise RuntimeError(f"configure failed: {reply.message}")
    return elapsed


# Members added one at a time, each after one timed `configure` of the set. Five, not
# three: BIRD's configure of this set takes 65-100 ms from one minute to the next here,
# and with three samples a median ratio of 1.27-1.37 came out once at 1.65.
ADDED = 5


def bench_sync(members: int) -> SyncResult:
    """The first apply, the same set again, then ``ADDED`` times: BIRD's own `configure` of
    the set (the baseline) and one more member added. Both sides of the ratio are medians
    of samples taken alternately, so a slow moment of a shared machine weighs on both."""
    out = SyncResult()
    cache = RenderCache()
    with short_dir("rsb-") as root, running_bird(root) as bird:
        out.runs.append(apply_once(bird, f"first apply of {members:,} members", members, cache))
        out.runs.append(apply_once(bird, "same set again (unchanged)", members, cache))
        for i in range(1, ADDED + 1):
            out.configure_runs.append(time_configure(bird) * 1e3)
            label = f"one member added ({i} of {ADDED})"
            out.runs.append(apply_once(bird, label, members + i, cache))
        out.configure_ms = statistics.median(out.configure_runs)
        out.memory = bird.memory()
    return out


def added_median(sync: SyncResult) -> ApplyRun:
    """The "one member added" run whose render + apply is the median of them."""
    added = sorted(sync.runs[2:], key=lambda r: r.render_ms + r.wall_ms)
    return added[len(added) // 2]


def goal_rows(sync: SyncResult | None, command: str) -> list[rows.Row]:
    """Issue 17's P3 goals for `make bench`, all from one run on one generated
    configuration: BIRD's own `configure` of the set at most 1 s, one member added (render
    + apply) at most 1.5x that configure, the first apply at most 3x; and one member
    added split into its render and its apply (an info row)."""
    if sync is None or len(sync.runs) < 3:
        return []
    base = sync.configure_ms
    first, added = sync.runs[0], added_median(sync)
    members = f"{first.members:,}"
    added_ms = added.render_ms + added.wall_ms
    upload, configure = added.stages.get("upload", 0.0), added.stages.get("configure", 0.0)
    return [
        rows.at_most(
            "routeservers",
            f"BIRD `configure` of {members} members (median of {len(sync.configure_runs)})",
            base / 1e3,
            1,
            "s",
            command=command,
            measured=ms(base),
        ),
        rows.at_most(
            "routeservers",
            f"one member added (render + apply, median of {len(sync.runs) - 2}) / that configure",
            added_ms / base,
            1.5,
            "x",
            command=command,
            measured=f"{added_ms / base:.2f} x ({ms(added_ms)} vs {ms(base)})",
        ),
        rows.info(
            "routeservers",
            "one member added: render, apply (upload + configure)",
            f"render {ms(added.render_ms)}, apply {ms(added.wall_ms)} (upload {ms(upload)} "
            f"+ configure {ms(configure)}; the rest read, verify, confirm, record)",
            command=command,
        ),
        rows.at_most(
            "routeservers",
            f"first apply of {members} members / that configure",
            first.wall_ms / base,
            3,
            "x",
            command=command,
            measured=f"{first.wall_ms / base:.2f} x ({ms(first.wall_ms)} vs {ms(base)})",
        ),
    ]


def other_rows(
    rendered: list[RenderResult], bulk: BulkResult | None, command: str
) -> list[rows.Row]:
    """The figures with no issue-17 goal: the full render and BIRD's parse of it, and the
    bulk approvals (when run; their problems fail the run)."""
    out = [
        rows.info(
            "routeservers",
            f"`render()` of {r.members:,} members, `bird -p` of its files",
            f"{ms(r.render_ms)}, parse {ms(r.parse_ms)} ({r.files:,} files, {size(r.total_bytes)})",
            command=command,
        )
        if r.parse_ok
        else rows.failed(
            "routeservers",
            f"`bird -p` of {r.members:,} rendered members",
            r.parse_output[:300],
            command=command,
        )
        for r in rendered
    ]
    if bulk is not None:
        active = f"{bulk.all_active_s:.1f} s" if bulk.all_active_s is not None else "not reached"
        out.append(
            rows.info(
                "routeservers",
                f"{bulk.approvals:,} bulk approvals: all active, BIRD reconfigures",
                f"{active}, {bulk.reconfigures} reconfigures",
                command=command,
            )
        )
        if bulk.errors:
            out.append(
                rows.failed(
                    "routeservers", "bulk approvals", "; ".join(bulk.errors)[:300], command=command
                )
            )
    return out


# --- 3. bulk approvals --------------------------------------------------------------------


@dataclass
class BulkResult:
    approvals: int
    approve_s: float = 0.0
    all_active_s: float | None = None
    active: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    reconfigures: int = 0
    sync_rounds: int = 0
    passes: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    peers_per_apply: list[int] = field(default_factory=list)
    apply_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class SyncCounter:
    """Wraps ``sync_route_servers`` where the runner calls it: counts rounds and passes."""

    def __init__(self, inner: Callable[..., list[ServerOutcome]]) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.rounds = 0
        self.passes = 0
        self.outcomes: Counter[str] = Counter()

    def __call__(self, ctx: JobContext, **kwargs: Any) -> list[ServerOutcome]:
        outcomes = self.inner(ctx, **kwargs)
        with self.lock:
            self.rounds += 1
            for o in outcomes:
                self.passes += o.passes
                self.outcomes[o.result] += 1
        return outcomes


def bulk_settings(url: str, emulator: ControllerEmulator, bird: Bird) -> Settings:
    nwid = emulator.address + "000001"
    return Settings(
        database_url=url,
        networks=[
            {
                "zt_network_id": nwid,
                "name": "ZT-IX Bench",
                "ipv4_prefix": str(LAN4),
                "ipv6_prefix": str(LAN6),
                "reserved_addresses": [str(RS_IPV4), str(RS_IPV6)],
            }
        ],
        workflow={"approval_mode": "manual_admin"},
        peeringdb={"enabled": False},
        zerotier={"controller": {"url": emulator.url, "token": emulator.token}},
        jobs={"lease_seconds": 30},
        routeservers={
            "servers": [
                {
                    "name": "rs1",
                    "pair_order": 0,
                    "transport": "local",
                    "birdc": BIRDC,
                    "birdc_socket": str(bird.socket),
                    "config_dir": str(bird.config_dir),
                    "main_config": str(bird.main_config),
                    "asn": RS_ASN,
                    "router_id": str(RS_IPV4),
                    "ipv4": str(RS_IPV4),
                    "ipv6": str(RS_IPV6),
                    "network": nwid,
                    "configure_timeout_seconds": CONFIGURE_TIMEOUT,
                }
            ],
            "rpki_validators": [
                {"name": VALIDATOR.name, "host": str(VALIDATOR.address), "port": VALIDATOR.port}
            ],
        },
    )


def count_status(database: Database) -> Counter[str]:
    with database.session() as db:
        found = db.execute(select(JoinRequest.status, func.count()).group_by(JoinRequest.status))
        return Counter({status: n for status, n in found})


def bench_bulk(approvals: int, timeout: float) -> BulkResult:
    out = BulkResult(approvals)
    with contextlib.ExitStack() as stack:
        root = stack.enter_context(short_dir("rsq-"))
        bird = stack.enter_context(running_bird(root / "rs1"))
        emulator = stack.enter_context(ControllerEmulator(root / "zt"))
        url = f"sqlite:///{root / 'ztix.sqlite3'}"
        migrate.upgrade(url)
        settings = bulk_settings(url, emulator, bird)
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
        # The server starts from an empty ZT-IX configuration (what the reconciler's first
        # pass would do): not counted below.
        sync_route_servers(ctx)
        with database.session() as db:
            state = db.get(RouteServerState, "rs1")
            baseline = state.reconfigure_count if state else 0
            admin = users.create_local_user(
                db, audit.CLI, username="bench-admin", password="x" * 16, admin=True
            )
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
                for i in range(approvals)
            ]
            admin_id = admin.id
        counter = SyncCounter(runner_module.sync_route_servers)  # type: ignore[attr-defined]
        runner_module.sync_route_servers = counter  # type: ignore[attr-defined]
        stack.callback(setattr, runner_module, "sync_route_servers", counter.inner)
        dispatch.install(database.sessionmaker, runner)
        stack.callback(runner.stop)
        runner.start()  # the periodic reconciler (30 s), as in `ztix serve`
        started = time.perf_counter()
        for rid in ids:
            with database.session() as db:
                user = db.get(User, admin_id)
                assert user is not None
                service.approve(db, rid, audit.Actor.for_user(user, "127.0.0.1"))
        out.approve_s = time.perf_counter() - started
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            statuses = count_status(database)
            if statuses.get("active", 0) == approvals or statuses.get("failed", 0):
                break
            time.sleep(0.2)
        out.statuses = count_status(database)
        out.active = out.statuses.get("active", 0)
        if out.active == approvals:
            out.all_active_s = time.perf_counter() - started
        else:
            out.errors.append(f"not all active after {timeout:g} s: {dict(out.statuses)}")
        runner.stop()
        with database.session() as db:
            state = db.get(RouteServerState, "rs1")
            out.reconfigures = (state.reconfigure_count if state else 0) - baseline
            events = db.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "routeserver.applied")
                .order_by(AuditEvent.id)
            ).all()
            out.peers_per_apply = [int(e.details.get("peers", 0)) for e in events][1:]
            failures = db.scalars(
                select(AuditEvent.details).where(AuditEvent.action == "routeserver.apply_failed")
            ).all()
            out.errors.extend(str(d)[:300] for d in failures)
        out.sync_rounds = counter.rounds
        out.passes = counter.passes
        out.outcomes = counter.outcomes
        protocols = bird.protocol_count()
        expected = 2 * approvals + 2  # + the RTR protocol and device
        if protocols != expected:
            out.errors.append(f"BIRD lists {protocols} protocols, {expected} expected")
    return out


# --- report -------------------------------------------------------------------------------


def versions() -> str:
    import sqlite3

    bird = subprocess.run([BIRD, "--version"], capture_output=True, text=True, check=False)
    bird_version = (bird.stdout + bird.stderr).strip() or "BIRD ?"
    return f"{bird_version}, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"


def ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    return f"{n / 1024:.0f} KiB"


def report(
    bench_run: Run,
    rendered: list[RenderResult],
    sync: SyncResult | None,
    bulk: BulkResult | None,
) -> str:
    out: list[str] = [anchor(bench_run.module)]
    add = out.append
    add("## Route servers: rendering, applying to BIRD, bulk approvals")
    add("")
    add("```sh")
    add(bench_run.command)
    add("```\n")
    out.extend(bench_run.lines())
    add(f"- Software: {versions()}")
    add("")
    add(
        "Members are synthetic: public ASNs (16-bit, every fourth 32-bit), distinct node IDs, "
        f"one IPv4 address in {LAN4} and one IPv6 address in {LAN6} each (two BGP sessions "
        "per member), realistic IRR data (1 to 50 IPv4 and 1 to 10 IPv6 prefixes and 1 to 5 "
        "origin ASNs each, every 250th member 3,000 IPv4 and 500 IPv6 prefixes and 300 "
        "origins: `irr_sizes()`); one RPKI validator "
        "(RTR to 127.0.0.1:3323, nothing listens there). BIRD runs in the foreground with "
        "its own socket; the host bird.conf is `render_host_config()`'s and includes "
        "ZT-IX's `ztix.conf`."
    )
    add("")
    if rendered:
        runs = rendered[0].runs
        add("### Render")
        add("")
        add(
            f"`render()` (median of {runs} runs after one warm-up) and `bird -p -c bird.conf` "
            "(median of 3 runs) on the written files."
        )
        add("")
        add("| members | render | files | total size | `bird -p` parse | parse result |")
        add("|---:|---:|---:|---:|---:|---|")
        for r in rendered:
            verdict = "OK" if r.parse_ok else f"failed: {r.parse_output[:120]}"
            add(
                f"| {r.members:,} | {ms(r.render_ms)} | {r.files:,} | {size(r.total_bytes)} "
                f"({r.total_bytes:,} B) | {ms(r.parse_ms)} | {verdict} |"
            )
        add("")
    if sync is not None and sync.runs:
        add("### Full sync to a local BIRD")
        add("")
        add(
            "`apply()` with `LocalTransport` against a running BIRD (configure timeout "
            f"{CONFIGURE_TIMEOUT} s). Stage times come from wrapping the transport: *read* is "
            "listing the deployed files, reading their manifest and the applied-hash marker, "
            "*upload* writing the changed files to a staging directory (fsynced together), "
            "hard-linking the unchanged ones and swapping it in, *configure* `birdc "
            "configure … timeout N` (BIRD's only parse: there is no `configure check`), "
            "*verify* `show status` + `show protocols` (every expected protocol present), "
            "*confirm* `birdc configure confirm`, *record* writing the applied hash. *render* "
            "goes through a `RenderCache`, as a sync round does: the first apply renders "
            "every member, the later ones reuse the unchanged members' files."
        )
        add("")
        head = "| run | members | render | " + " | ".join(STAGES) + " | total | result |"
        add(head)
        add("|---|---:|" + "---:|" * (len(STAGES) + 2) + "---|")
        for run in sync.runs:
            cells = " | ".join(ms(run.stages[s]) if s in run.stages else "-" for s in STAGES)
            add(
                f"| {run.label} | {run.members:,} | {ms(run.render_ms)} | {cells} | "
                f"{ms(run.wall_ms)} | {run.result.detail} |"
            )
        add("")
        last = sync.runs[-1]
        first = sync.runs[0].configure_codes
        answered = (
            "`0003 Reconfigured`, i.e. BIRD had finished reconfiguring when birdc returned"
            if 3 in first
            else ", ".join(f"{c:04d}" for c in sorted(first)) or "-"
        )
        add(
            f"After the runs BIRD lists {last.protocols:,} protocols (two BGP sessions per "
            f"member, the RTR protocol, `device`); `show memory` total: {sync.memory}. "
            f"The first configure answered {answered}. BIRD's own `configure` of the same "
            f"set (parse, then nothing to change), median of {len(sync.configure_runs)}: "
            f"{ms(sync.configure_ms)} "
            f"({', '.join(ms(v) for v in sync.configure_runs)})."
        )
        add("")
        add(rows.table(goal_rows(sync, bench_run.command)))
        add("")
    if bulk is not None:
        add(f"### Reconfigures during {bulk.approvals:,} bulk approvals")
        add("")
        add(
            f"SQLite file database, the ZeroTier controller emulator, one route server on the "
            f"local BIRD, the in-process runner (`InProcessRunner`, 4 threads, reconciler every "
            f"30 s) running the real `process_request` and `sync_route_servers` with the "
            f"route-server activation gate. {bulk.approvals:,} requests were created, then "
            f"approved one transaction each as fast as the service layer goes, while the "
            f"runner worked; the route server started from an empty ZT-IX configuration "
            f"(its first apply is not counted)."
        )
        add("")
        applied = bulk.peers_per_apply
        add("| figure | value |")
        add("|---|---:|")
        add(f"| approving all {bulk.approvals:,} | {bulk.approve_s:.1f} s |")
        total = f"{bulk.all_active_s:.1f} s" if bulk.all_active_s is not None else "not reached"
        add(f"| first approval → all {bulk.approvals:,} active | {total} |")
        add(f"| BIRD reconfigures (`reconfigure_count`) | {bulk.reconfigures} |")
        add(f"| sync rounds run by the runner | {bulk.sync_rounds} |")
        add(f"| sync passes (one render + compare each) | {bulk.passes} |")
        results = ", ".join(f"{k} {v}" for k, v in sorted(bulk.outcomes.items())) or "-"
        add(f"| round outcomes | {results} |")
        if applied:
            add(f"| members in each applied configuration | {', '.join(map(str, applied))} |")
        add("")
        if bulk.errors:
            add("Problems seen: " + "; ".join(bulk.errors))
            add("")
    return "\n".join(out) + "\n"


def summary(
    rendered: list[RenderResult], sync: SyncResult | None, bulk: BulkResult | None
) -> Summary:
    figures: list[str] = []
    baselines: list[str] = []
    if rendered:
        big = rendered[-1]
        figures.append(f"`render()` of {big.members:,} members: {ms(big.render_ms)}")
        baselines.append(f"`bird -p` parsing the same files: {ms(big.parse_ms)}")
    if sync is not None and sync.runs:
        first, *rest = sync.runs
        figures.append(f"{first.label}: {ms(first.wall_ms)}")
        added = added_median(sync) if len(sync.runs) > 2 else None
        same = next((r for r in rest if r.members == first.members), None)
        if added is not None:
            figures.append(f"{added.label}: {ms(added.wall_ms)}")
        if same is not None:
            baselines.append(f"{same.label}: {ms(same.wall_ms)}")
    if bulk is not None:
        figures.append(f"{bulk.approvals:,} bulk approvals: {bulk.reconfigures} BIRD reconfigures")
        baselines.append(f"one per approval would be {bulk.approvals:,}")
    return Summary(
        title="Route servers",
        figure="<br>".join(figures),
        baseline="<br>".join(baselines),
    )


# --- main -------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.routeservers", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", default="10,100,1000,2000", help="members to render")
    parser.add_argument("--runs", type=int, default=5, help="render runs per size (median)")
    parser.add_argument("--sync-members", type=int, default=2000, help="0 skips the sync part")
    parser.add_argument("--approvals", type=int, default=500, help="0 skips the approvals part")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for active")
    parser.add_argument("--write-docs", action="store_true", help=f"update {DOCS.name}")
    parser.add_argument(
        "--short", action="store_true", help="for `make bench`: 2,000 members, no approvals"
    )
    args = parser.parse_args(argv)
    if args.short:
        args.sizes, args.runs, args.sync_members, args.approvals = "2000", 1, 2000, 0
    args.size_list = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    if any(n < 1 or n > 2000 for n in args.size_list):
        parser.error(f"sizes must be 1..2000 (the /21 peering LAN {LAN4})")
    if not 0 <= args.sync_members <= 2000 or not 0 <= args.approvals <= 2000:
        parser.error("--sync-members and --approvals must be 0..2000")
    return args


def main(argv: list[str] | None = None) -> list[rows.Row]:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    bench_run = Run.start("routeservers", argv)
    with short_dir("rsr-") as work:
        rendered = bench_render(args.size_list, args.runs, work)
    sync = bench_sync(args.sync_members) if args.sync_members else None
    bulk = bench_bulk(args.approvals, args.timeout) if args.approvals else None
    bench_run.finish()
    text = report(bench_run, rendered, sync, bulk)
    write_report(bench_run, text, docs=args.write_docs, summary=summary(rendered, sync, bulk))
    return [
        *goal_rows(sync, bench_run.command),
        *other_rows(rendered, bulk, bench_run.command),
    ]


if __name__ == "__main__":
    raise SystemExit(rows.run(main))
