"""`ztix requests …` and `ztix routeservers host-config`, run as real processes against the
test database (SQLite and PostgreSQL): an IX scripts onboarding end to end."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import embedded_env, ztix
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus
from ztix.workflow import audit
from ztix.workflow import requests as service

NWID = "8056c2e21c000001"
CONFIG = f"""
workflow:
  approval_mode: manual_admin
networks:
  - zt_network_id: {NWID}
    name: ZT-IX Demo
    ipv4_prefix: 192.0.2.0/24
    ipv6_prefix: 2001:db8:ab::/64
    reserved_addresses: ["192.0.2.2-192.0.2.9", "2001:db8:ab::/120"]
routeservers:
  servers:
    - name: rs1
      transport: local
      asn: 64512
      router_id: 192.0.2.1
      network: {NWID}
      ipv4: 192.0.2.1
      ipv6: "2001:db8:ab::1"
      config_dir: /etc/bird/ztix/live
  rpki_validators:
    - {{name: stayrtr1, host: 192.0.2.10, port: 3323}}
"""


@pytest.fixture
def env(tmp_path: Path, database: Database) -> dict[str, str]:
    config = tmp_path / "ix.yaml"
    config.write_text(CONFIG)
    return {**embedded_env(tmp_path, database.url), "ZTIX_CONFIG": str(config)}


def ok(env: dict[str, str], *args: str) -> str:
    done = ztix(env, *args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def as_json(env: dict[str, str], *args: str) -> Any:
    return json.loads(ok(env, *args, "--json"))


def refused(env: dict[str, str], *args: str) -> str:
    done = ztix(env, *args)
    assert done.returncode == 1, (args, done.stdout, done.stderr)
    return done.stderr


def test_onboarding_from_the_shell(env: dict[str, str], database: Database) -> None:
    ok(env, "networks", "sync")
    created = ztix(
        env,
        "users",
        "create",
        "--username",
        "alice",
        "--password-stdin",
        "--asn",
        "213035",
        stdin="a long enough password\n",
    )
    assert created.returncode == 0, created.stderr

    first = as_json(
        env, "requests", "create", "--user", "alice", "--asn", "213035", "--node", "ABCDEF0123"
    )
    assert first["status"] == "pending" and first["node_id"] == "abcdef0123"
    assert first["zt_network_id"] == NWID  # the only network is the default
    assert [e["actor"] for e in first["audit"]] == ["cli"]
    rid = first["id"]
    # The same checks as the web app: a second open request for the node is refused.
    again = refused(
        env, "requests", "create", "--user", "alice", "--asn", "213035", "--node", "abcdef0123"
    )
    assert "duplicate_open_request" in again
    assert "asn_not_authorized" in refused(
        env, "requests", "create", "--user", "alice", "--asn", "13335", "--node", "abcdef0999"
    )

    listed = as_json(env, "requests", "list", "--status", "pending")
    assert [r["id"] for r in listed] == [rid]
    table = ok(env, "requests", "list")
    assert rid in table and "AS213035" in table and "STATUS" in table

    approved = as_json(
        env,
        "requests",
        "approve",
        rid,
        "--max-prefix-v4",
        "120",
        "--max-prefix-v6",
        "30",
        "--note",
        "checked by phone",
    )
    assert approved["status"] == "approved"
    assert (approved["max_prefix_ipv4_override"], approved["max_prefix_ipv6_override"]) == (120, 30)
    assert approved["approval_note"] == "checked by phone"
    assert approved["audit"][-1]["details"]["max_prefix_ipv4"] == 120
    assert "invalid_transition" in refused(env, "requests", "approve", rid)
    assert (
        "must be 1-10000000" in ztix(env, "requests", "approve", rid, "--max-prefix-v4", "0").stderr
    )

    shown = ok(env, "requests", "show", rid)
    assert "status      approved" in shown and "checked by phone" in shown
    assert "request.approved pending -> approved" in shown

    second = as_json(
        env,
        "requests",
        "create",
        "--user",
        "alice",
        "--asn",
        "213035",
        "--node",
        "abcdef0124",
        "--network",
        NWID,
    )["id"]
    assert "reason_required" in refused(env, "requests", "reject", second, "--reason", " ")
    rejected = as_json(env, "requests", "reject", second, "--reason", "Not at this IX")
    assert rejected["status"] == "rejected" and rejected["decision_reason"] == "Not at this IX"
    assert "invalid_transition" in refused(env, "requests", "retry", second)

    # Provisioning is the job system's; here the request is moved as the job would.
    with database.session() as db:
        request = service.lock_request(db, uuid.UUID(rid))
        service.transition(db, request, RequestStatus.PROVISIONING, audit.SYSTEM, "t")
        service.transition(db, request, RequestStatus.FAILED, audit.SYSTEM, "t")
    retried = as_json(env, "requests", "retry", rid)
    assert retried["status"] == "approved" and retried["attempts"] == 0
    with database.session() as db:
        request = service.lock_request(db, uuid.UUID(rid))
        service.transition(db, request, RequestStatus.PROVISIONING, audit.SYSTEM, "t")
        service.transition(db, request, RequestStatus.ACTIVE, audit.SYSTEM, "t")
    left = as_json(env, "requests", "leave", rid)
    assert left["status"] == "deprovisioning"
    assert left["audit"][-1]["actor"] == "cli"

    assert "not a request ID" in refused(env, "requests", "show", "nope")
    assert "request_not_found" in refused(env, "requests", "approve", str(uuid.uuid4()))


def test_host_config_is_the_bird_conf_skeleton(env: dict[str, str]) -> None:
    ok(env, "networks", "sync")
    text = ok(env, "routeservers", "host-config", "rs1")
    assert "router id 192.0.2.1;" in text
    assert 'include "/etc/bird/ztix/live/ztix.conf";' in text
    assert "stayrtr1 at 192.0.2.10 port 3323" in text
    assert "protocol device" in text
    assert "no route server 'rs9'" in refused(env, "routeservers", "host-config", "rs9")
