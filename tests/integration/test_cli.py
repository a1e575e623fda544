"""The ztix command line, run as a real process against a real database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.app import ROOT
from tests.support.services import free_port

EXAMPLE = ROOT / "runtime-config.example.yaml"


def run(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ztix.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The example config (the embedded default), with its state under tmp_path."""
    zt_home = tmp_path / "zerotier"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ZTIX_", "DATABASE_URL"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "ZTIX_CONFIG": str(EXAMPLE),
        "ZTIX_ZEROTIER__CONTROLLER__URL": f"http://127.0.0.1:{free_port()}",
        "ZTIX_ZEROTIER__CONTROLLER__EMULATOR_HOME": str(zt_home),
        "ZTIX_ZEROTIER__CONTROLLER__TOKEN_FILE": str(zt_home / "authtoken.secret"),
        "ZTIX_JOBS__RECONCILE_INTERVAL_SECONDS": "1",
        # Not under test here (tests/integration/test_embedded_routeserver.py): no BIRD in
        # the checkout's var/ and no StayRTR on the machine-wide port 3323.
        "ZTIX_ROUTESERVERS__EMBEDDED__ENABLED": "false",
    }


@pytest.fixture
def env_full_ids(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A config whose network is given by full ID (no controller needed to sync it)."""
    config = tmp_path / "full-ids.yaml"
    config.write_text(
        "networks:\n"
        "  - zt_network_id: 8056c2e21c000001\n"
        "    name: ZT-IX Demo\n"
        "    ipv4_prefix: 192.0.2.0/24\n"
        "    ipv6_prefix: 2001:db8:ab::/64\n"
    )
    return {**env, "ZTIX_CONFIG": str(config)}


def test_db_commands(env: dict[str, str]) -> None:
    assert "current: base" in run(env, "db", "current").stdout
    up = run(env, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    current = run(env, "db", "current").stdout
    head = re.search(r"head:\s+(\S+)", current)
    assert head and f"current: {head.group(1)}" in current
    down = run(env, "db", "downgrade", "--revision", "base")
    assert down.returncode == 0, down.stderr
    assert "database at base" in down.stdout


def test_users_and_networks(env_full_ids: dict[str, str]) -> None:
    env = env_full_ids
    run(env, "db", "upgrade")
    synced = run(env, "networks", "sync")
    assert "added network 8056c2e21c000001" in synced.stdout
    assert "already in sync" in run(env, "networks", "sync").stdout
    listing = run(env, "networks", "list").stdout
    assert "8056c2e21c000001" in listing and "192.0.2.0/24" in listing

    created = run(
        env,
        "users",
        "create",
        "--username",
        "alice",
        "--password-stdin",
        "--asn",
        "213035",
        "--asn",
        "13335",
        "--network",
        "8056C2E21C000001",
        stdin="a long enough password\n",
    )
    assert created.returncode == 0, created.stderr
    assert "created operator alice" in created.stdout
    assert "password" not in created.stdout

    generated = run(env, "users", "create", "--username", "root", "--admin")
    assert generated.returncode == 0
    assert re.search(r"password: \S{16,}", generated.stdout)

    dup = run(env, "users", "create", "--username", "alice", "--password-stdin", stdin="x" * 20)
    assert dup.returncode == 1
    assert "user_exists" in dup.stderr

    bad_asn = run(env, "users", "create", "--username", "b", "--asn", "64500")
    assert bad_asn.returncode == 1 and "invalid_asn" in bad_asn.stderr
    short = run(env, "users", "create", "--username", "c", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 12" in short.stderr
    bad_net = run(env, "users", "create", "--username", "d", "--network", "8056c2e21c0000ff")
    assert bad_net.returncode == 1 and "network_not_found" in bad_net.stderr

    listing = run(env, "users", "list").stdout
    assert re.search(r"alice\s+operator\s+active\s+AS13335,AS213035", listing)
    assert re.search(r"root\s+admin\s+active", listing)
    assert run(env, "users", "disable", "alice").returncode == 0
    assert re.search(r"alice\s+operator\s+disabled", run(env, "users", "list").stdout)
    missing = run(env, "users", "disable", "nobody")
    assert missing.returncode == 1 and "user_not_found" in missing.stderr

    changed = run(env, "users", "set-password", "root", stdin="another long password\n")
    assert changed.returncode == 0, changed.stderr


def test_bad_config_stops_with_the_key(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("workflow:\n  approval_mode: sometimes\n")
    result = run({**env, "ZTIX_CONFIG": str(bad)}, "db", "current")
    assert result.returncode == 2
    assert "workflow.approval_mode" in result.stderr


def test_first_start_creates_an_admin_who_can_log_in(env: dict[str, str]) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ztix.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        output = ""
        deadline = time.monotonic() + 60
        while "Application startup complete" not in output and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            output += line
        assert "Application startup complete" in output, output
        username = re.search(r"username: (\S+)", output)
        password = re.search(r"password: (\S+)", output)
        assert username and password, output
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base) as http:
            response = http.post(
                "/api/v1/auth/local/login",
                json={"username": username.group(1), "password": password.group(1)},
            )
            assert response.status_code == 200, response.text
            assert response.json()["role"] == "admin"
            assert (
                http.get("/api/v1/onboarding/context").json()["networks"][0]["name"] == "ZT-IX Demo"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # A second start does not make another admin or print a password.
    second = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ztix.cli.main import ensure_initial_admin\n"
            "from ztix.db.session import Database\nimport os\n"
            "d = Database(os.environ['DATABASE_URL'])\n"
            "with d.session() as s: print(ensure_initial_admin(s))",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert second.stdout.strip() == "None"


@contextmanager
def serving(env: dict[str, str], *options: str) -> Iterator[str]:
    """`ztix serve` in a subprocess; yields its base URL once /healthz answers."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ztix.cli", "serve", "--port", str(port), *options],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "serve did not start"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_metrics_add_up_every_http_worker(env: dict[str, str], tmp_path: Path) -> None:
    """`ztix serve --workers 2`: a scrape reaches one worker, and it reports the requests
    both answered (prometheus_client's multiprocess mode, through a shared directory)."""
    shared = tmp_path / "metrics"
    pattern = re.compile(
        r'^ztix_http_request_duration_seconds_count\{method="GET",route="/healthz",'
        r'status="200"\} (\S+)$',
        re.MULTILINE,
    )
    with serving({**env, "PROMETHEUS_MULTIPROC_DIR": str(shared)}, "--workers", "2") as base:

        def counted() -> float:
            scraped = pattern.search(httpx.get(f"{base}/metrics", timeout=5).text)
            assert scraped is not None
            return float(scraped.group(1))

        def writers() -> set[str]:
            return {f.stem.rsplit("_", 1)[-1] for f in shared.glob("histogram_*.db")}

        # The start-up probes count too, and one that timed out on a busy machine was
        # still answered: count from what the server reports now.
        before = counted()
        sent = 0
        # A new connection per request: the kernel hands them to either worker.
        while len(writers()) < 2 and sent < 2000:
            for _ in range(20):
                assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
                sent += 1
        assert len(writers()) == 2, "one worker answered every request"
        for _ in range(6):  # whichever worker answers the scrape
            assert counted() == before + sent


def test_serve_config_option_reaches_the_http_app(env: dict[str, str], tmp_path: Path) -> None:
    """`ztix serve --config FILE` without ZTIX_CONFIG: the served app uses FILE too."""
    config = tmp_path / "renamed.yaml"
    config.write_text(
        EXAMPLE.read_text().replace("  shortname: ZT-IX\n", "  shortname: RENAMED-IX\n")
    )
    env = {k: v for k, v in env.items() if k != "ZTIX_CONFIG"}
    with serving(env, "--config", str(config)) as base:
        export = httpx.get(f"{base}/participants.json", timeout=5)
        assert export.status_code == 200, export.text
        assert export.json()["ixp_list"][0]["shortname"] == "RENAMED-IX"


def test_users_sessions(env_full_ids: dict[str, str]) -> None:
    from ztix.auth.sessions import start_session
    from ztix.config import AuthConfig
    from ztix.db.models import AuditEvent
    from ztix.db.session import Database
    from ztix.workflow import users

    env = env_full_ids
    run(env, "db", "upgrade")
    run(env, "users", "create", "--username", "alice", "--password-stdin", stdin="x" * 20 + "\n")
    database = Database(env["DATABASE_URL"])
    try:
        with database.session() as db:
            alice = users.get_user_by_username(db, "alice")
            assert alice is not None
            digests = [
                start_session(
                    db, alice, method="local", client_address=address, config=AuthConfig()
                )[1].token_hash
                for address in ("192.0.2.7", "2001:db8::7")
            ]
        listing = run(env, "users", "sessions", "alice")
        assert listing.returncode == 0, listing.stderr
        for digest, address in zip(digests, ("192.0.2.7", "2001:db8::7"), strict=True):
            assert re.search(
                rf"{digest[:12]}\s+\S+ \S+\s+\S+ \S+\s+\S+ \S+\s+local\s+live\s+"
                rf"{re.escape(address)}",
                listing.stdout,
            )
        assert "--id needs --revoke" in run(env, "users", "sessions", "alice", "--id", "ab").stderr
        one = run(env, "users", "sessions", "alice", "--revoke", "--id", digests[0][:8])
        assert one.returncode == 0 and "revoked 1 session(s)" in one.stdout
        listing = run(env, "users", "sessions", "alice").stdout
        assert digests[0][:12] not in listing and digests[1][:12] in listing
        rest = run(env, "users", "sessions", "alice", "--revoke")
        assert "revoked 1 session(s)" in rest.stdout
        assert digests[1][:12] not in run(env, "users", "sessions", "alice").stdout
        missing = run(env, "users", "sessions", "nobody")
        assert missing.returncode == 1 and "user_not_found" in missing.stderr
        with database.session() as db:
            from sqlalchemy import select

            revoked = db.scalars(
                select(AuditEvent).where(AuditEvent.action == "user.sessions_revoked")
            ).all()
            assert [e.actor for e in revoked] == ["cli", "cli"]
    finally:
        database.dispose()


def test_routeservers_drain_and_undrain(env_full_ids: dict[str, str], tmp_path: Path) -> None:
    """Issue 16: the drain is recorded and audited, then applied by a normal sync (here it
    fails: no BIRD answers on the socket, and the CLI says so); the pair's second server is
    refused while the first is drained."""
    config = Path(env_full_ids["ZTIX_CONFIG"])
    servers = "".join(
        f"    - name: rs{i}\n"
        "      transport: local\n"
        f"      birdc_socket: {tmp_path / 'no-bird.ctl'}\n"
        f"      config_dir: {tmp_path / f'rs{i}' / 'live'}\n"
        "      asn: 64999\n"
        f"      router_id: 192.0.2.{i}\n"
        "      network: 8056c2e21c000001\n"
        f"      ipv4: 192.0.2.{i}\n"
        f'      ipv6: "2001:db8:ab::{i}"\n'
        f"      pair_order: {i}\n"
        for i in (1, 2)
    )
    config.write_text(config.read_text() + "routeservers:\n  servers:\n" + servers)
    assert run(env_full_ids, "db", "upgrade").returncode == 0
    assert run(env_full_ids, "networks", "sync").returncode == 0
    drained = run(env_full_ids, "routeservers", "drain", "rs1")
    assert "rs1: drained" in drained.stdout, drained.stderr
    assert drained.returncode == 1 and "rs1: failed at stage" in drained.stdout
    refused = run(env_full_ids, "routeservers", "drain", "rs2")
    assert refused.returncode == 1
    assert "(route_server_pair_drained)" in refused.stderr and "rs1" in refused.stderr
    status = run(env_full_ids, "routeservers", "status", "rs1")
    assert "DRAINED" in status.stdout
    undrained = run(env_full_ids, "routeservers", "undrain", "rs1")
    assert "rs1: undrained" in undrained.stdout
    assert "DRAINED" not in run(env_full_ids, "routeservers", "status", "rs1").stdout
