"""``ztix policy check``, run as a real process: what the policy would decide, creating
nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.policy import closed_port
from ztix.config import load_settings
from ztix.db import migrate
from ztix.db.session import Database
from ztix.workflow import audit, networks, users

NWID = "8056c2e21c000001"
NWID_B = "8056c2e21c000002"


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ztix.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def rows(database: Path, table: str) -> int:
    with sqlite3.connect(database) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A migrated SQLite database with two networks, a PeeringDB user and a local user."""
    tmp = tmp_path_factory.mktemp("policy-cli")
    database = tmp / "cli.sqlite3"
    config: dict[str, Any] = {
        "workflow": {"approval_mode": "policy_auto"},
        "policy": {
            "allowed_asns": ["213035", "3320-3330"],
            "denied_asns": ["3325"],
            "auto_approval": {"max_per_asn_per_day": 2},
        },
        "peeringdb_api": {"base_url": f"http://127.0.0.1:{closed_port()}/api"},
        "networks": [
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
                "allowed_asns": ["3320"],
                "manual_approval": True,
            },
        ],
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ZTIX_", "DATABASE_URL"))},
        "DATABASE_URL": f"sqlite:///{database}",
        "ZTIX_CONFIG": str(path),
    }
    # The set-up in-process (the CLI's own commands for these are tested in test_cli.py).
    settings = load_settings(path, database_url=env["DATABASE_URL"])
    migrate.upgrade(settings.database_url)
    db_ = Database(settings.database_url)
    with db_.session() as db:
        networks.sync_networks(db, audit.CLI, settings.networks)
        users.create_local_user(db, audit.CLI, username="alice", password="x" * 12, asns=[213035])
    db_.dispose()
    return {"env": env, "database": database, "events": rows(database, "audit_events")}


def test_allow(site: dict[str, Any]) -> None:
    done = run(site["env"], "policy", "check", "--asn", "213035", "--network", NWID)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"AS213035 on ZT-IX Frankfurt ({NWID}): allow"
    assert "assumed: PeeringDB perms 2" in done.stdout
    assert "pass     asn_allowlist" in done.stdout
    assert "AS213035 matches the allow list entry 213035  [policy.allowed_asns]" in done.stdout
    # Nothing was created, not even an audit event.
    assert rows(site["database"], "join_requests") == 0
    assert rows(site["database"], "audit_events") == site["events"]


def test_deny_asn_and_network(site: dict[str, Any]) -> None:
    denied = run(site["env"], "policy", "check", "--asn", "AS3325", "--network", NWID)
    assert denied.returncode == 1
    assert "refused: AS3325 may not join this IX (policy.denied_asns)" in denied.stdout
    assert "fail     asn_denylist" in denied.stdout
    network = run(site["env"], "policy", "check", "--asn", "213035", "--network", "000002")
    assert network.returncode == 1
    assert f"(networks[{NWID_B}].allowed_asns)" in network.stdout


def test_needs_admin_with_reasons(site: dict[str, Any]) -> None:
    local = run(
        site["env"], "policy", "check", "--asn", "213035", "--network", NWID, "--user", "alice"
    )
    assert local.returncode == 3
    assert "requester: alice: local grant" in local.stdout
    assert "needs an admin: no_peeringdb_identity" in local.stdout
    manual = run(
        site["env"], "policy", "check", "--asn", "3320", "--network", NWID_B, "--perms", "1"
    )
    assert manual.returncode == 3
    assert manual.stdout.count("needs an admin:") == 2
    assert "needs an admin: network_manual" in manual.stdout
    assert "needs an admin: peeringdb_perms_insufficient" in manual.stdout


def test_json_and_peeringdb_unknown(site: dict[str, Any]) -> None:
    env = {**site["env"], "ZTIX_POLICY__PEERINGDB__REQUIRE_RECORD": "true"}
    done = run(env, "policy", "check", "--asn", "213035", "--network", NWID, "--json")
    assert done.returncode == 3, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["decision"] == "needs_admin"
    assert [r["code"] for r in verdict["reasons"]] == ["peeringdb_unknown"]
    record = next(c for c in verdict["checks"] if c["name"] == "peeringdb_record")
    assert record["status"] == "unknown"
    assert "unreachable" in record["evidence"]["why"]
    assert rows(site["database"], "peeringdb_networks") == 0


def test_manual_mode(site: dict[str, Any]) -> None:
    env = {**site["env"], "ZTIX_WORKFLOW__APPROVAL_MODE": "manual_admin"}
    done = run(env, "policy", "check", "--asn", "213035", "--network", NWID)
    assert done.returncode == 3
    assert "approval mode: manual_admin" in done.stdout
    assert "needs an admin: manual_approval_mode" in done.stdout


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--asn", "64512", "--network", NWID), "private ASN"),
        (("--asn", "213035", "--network", "8056c2e21c0000ff"), "no IX network"),
        (("--asn", "213035", "--network", NWID, "--user", "alice", "--perms", "2"), "not both"),
    ],
)
def test_bad_input(site: dict[str, Any], args: tuple[str, ...], error: str) -> None:
    done = run(site["env"], "policy", "check", *args)
    assert done.returncode == 1
    assert error in done.stderr
