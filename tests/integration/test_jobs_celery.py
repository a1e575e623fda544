"""The distributed setup for real: PostgreSQL, Redis, Celery workers and beat as processes.

Fault tests of issue 3: Redis stopped when an admin approves, a worker killed
mid-provisioning, duplicate deliveries. Each asserts no lost request, no duplicate member,
distinct addresses and a complete audit trail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.app import create_user, login, truncate
from tests.support.services import RedisServer, free_port
from tests.support.zt_fixtures import ix_networks
from ztix.api.app import create_app
from ztix.config import Settings, load_settings
from ztix.db import migrate
from ztix.db.models import AuditEvent, JoinRequest
from ztix.db.session import Database
from ztix.jobs.celery_app import process_request_task
from ztix.workflow import audit, networks
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.emulator import ControllerEmulator


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[Database]:
    migrate.upgrade(pg_url)
    database = Database(pg_url)
    truncate(database)
    yield database
    database.dispose()


class Site:
    """ZT-IX in its distributed shape: API in this process, workers and beat as processes."""

    def __init__(
        self, tmp: Path, database: Database, redis: RedisServer, emulator: ControllerEmulator
    ):
        self.tmp = tmp
        self.database = database
        self.emulator = emulator
        self.procs: dict[str, subprocess.Popen[str]] = {}
        config: dict[str, Any] = {
            "database_url": database.url,
            "networks": ix_networks(emulator),
            "peeringdb": {"enabled": False},
            "zerotier": {
                "controller": {"url": emulator.url, "token": emulator.token, "timeout_seconds": 3}
            },
            "jobs": {
                "runner": "celery",
                "broker_url": redis.url,
                "reconcile_interval_seconds": 1,
                "lease_seconds": 4,
                "retry": {"base_seconds": 0.2, "cap_seconds": 1, "max_attempts": 6},
                "worker_metrics_port": 0,  # several workers per test share this file
            },
            "logging": {"level": "INFO"},
        }
        self.config_file = tmp / "config.yaml"
        self.config_file.write_text(yaml.safe_dump(config))
        self.settings: Settings = load_settings(self.config_file)
        with ControllerProvider(ControllerSettings(url=emulator.url, token=emulator.token)) as zt:
            for net in self.settings.networks:
                assert net.zt_network_id
                zt.set_network(net.zt_network_id, {"name": net.name, "private": True})
        with database.session() as db:
            networks.sync_networks(db, audit.SYSTEM, self.settings.networks)
        self.client = TestClient(create_app(self.settings, database=database))
        create_user(database, "root", admin=True)
        create_user(database, "alice", asns=(213035,))
        self.admin = login(self.client, "root")
        self.nwid = self.settings.networks[0].zt_network_id

    def spawn(self, name: str, *args: str) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ZTIX_", "DATABASE_URL"))}
        log = (self.tmp / f"{name}.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "ztix.cli", *args, "--config", str(self.config_file)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.tmp,
        )
        self.procs[name] = proc
        return proc

    def start_worker(self, name: str) -> subprocess.Popen[str]:
        return self.spawn(name, "worker", "--pool", "solo", "--concurrency", "1")

    def start_beat(self) -> None:
        self.spawn("beat", "beat", "--schedule", str(self.tmp / "beat-schedule"))

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.client.close()

    def request(self, node: str, asn: int = 213035) -> str:
        member = login(self.client, "alice")
        response = member.post(
            "/api/v1/requests", json={"asn": asn, "zt_network_id": self.nwid, "node_id": node}
        )
        assert response.status_code == 201, response.text
        self.admin = login(self.client, "root")
        return str(response.json()["id"])

    def approve(self, request_id: str) -> float:
        started = time.monotonic()
        response = self.admin.post(f"/api/v1/admin/requests/{request_id}/approve")
        assert response.status_code == 200, response.text
        return time.monotonic() - started

    def status(self, request_id: str) -> JoinRequest:
        with self.database.session() as db:
            request = db.get(JoinRequest, uuid.UUID(request_id))
            assert request is not None
            request.addresses  # noqa: B018
            return request

    def wait_for(self, request_id: str, status: str, timeout: float = 45) -> JoinRequest:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            request = self.status(request_id)
            if request.status == status:
                return request
            time.sleep(0.2)
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.tmp.glob("*.log"))
        raise AssertionError(f"{request_id} is {self.status(request_id).status}\n{logs}")

    def actions(self, request_id: str) -> list[str]:
        with self.database.session() as db:
            return list(
                db.scalars(
                    select(AuditEvent.action)
                    .where(AuditEvent.request_id == uuid.UUID(request_id))
                    .order_by(AuditEvent.id)
                )
            )


@pytest.fixture
def site(
    tmp_path: Path, pg_database: Database, redis: RedisServer, emulator: ControllerEmulator
) -> Iterator[Site]:
    s = Site(tmp_path, pg_database, redis, emulator)
    yield s
    s.stop()


def assert_one_member_each(site: Site, request_ids: list[str]) -> None:
    requests = [site.status(r) for r in request_ids]
    members = site.emulator.store.members[site.nwid or ""]
    assert sorted(members) == sorted(r.node_id for r in requests)
    v4 = [r.address(4) for r in requests]
    v6 = [r.address(6) for r in requests]
    assert len(set(v4)) == len(v4) and None not in v4
    assert len(set(v6)) == len(v6) and None not in v6


def test_workers_provision_an_approval(site: Site) -> None:
    site.start_worker("w1")
    site.start_worker("w2")
    rid = site.request("abcdef0123")
    site.approve(rid)
    request = site.wait_for(rid, "active")
    assert request.address(4) == "192.0.2.1"
    assert site.actions(rid)[-2:] == ["provisioning.started", "provisioning.succeeded"]
    assert_one_member_each(site, [rid])


def test_redis_down_when_an_admin_approves(site: Site, redis: RedisServer) -> None:
    site.start_worker("w1")
    site.start_beat()
    rid = site.request("abcdef0123")
    redis.stop()
    took = site.approve(rid)
    assert took < 10, f"approval blocked {took:.1f}s on the dead broker"
    assert site.status(rid).status == "approved"  # committed, waiting for the broker
    assert "request.approved" in site.actions(rid)
    time.sleep(1)
    redis.start()  # same port: the worker and beat reconnect, beat's reconciler finds it
    site.wait_for(rid, "active", timeout=60)
    assert site.actions(rid).count("provisioning.succeeded") == 1
    assert_one_member_each(site, [rid])


def test_worker_killed_mid_provisioning(site: Site, emulator: ControllerEmulator) -> None:
    first = site.start_worker("w1")
    # Once the worker has passed its start-up gate and works (a first member is active),
    # every controller call takes 3 s: the worker is caught in one.
    site.approve(warm := site.request("abcdef0999"))
    site.wait_for(warm, "active", timeout=60)
    emulator.set_latency(3)
    rid = site.request("abcdef0123")
    site.approve(rid)
    owner = site.wait_for(rid, "provisioning", timeout=30).lease_owner
    assert owner is not None and f":{first.pid}:" in owner
    first.send_signal(signal.SIGKILL)
    first.wait()
    emulator.set_latency(0)
    site.start_worker("w2")
    site.start_beat()
    request = site.wait_for(rid, "active", timeout=60)
    assert request.attempts >= 2  # the dead worker's attempt, then the takeover
    trail = site.actions(rid)
    assert trail.count("provisioning.started") == 1
    assert trail.count("provisioning.succeeded") == 1
    assert_one_member_each(site, [warm, rid])


def test_duplicate_deliveries_provision_once(site: Site) -> None:
    site.start_worker("w1")
    site.start_worker("w2")
    rid = site.request("abcdef0123")
    site.approve(rid)
    for _ in range(5):  # the same job delivered again and again
        process_request_task.apply_async(args=(rid,))
    site.wait_for(rid, "active")
    time.sleep(2)
    trail = site.actions(rid)
    assert trail.count("provisioning.started") == 1
    assert trail.count("provisioning.succeeded") == 1


def test_many_approvals_get_distinct_addresses(site: Site) -> None:
    site.start_worker("w1")
    site.start_worker("w2")
    rids = [site.request(f"abcdef{i:04d}") for i in range(20)]
    for rid in rids:
        site.approve(rid)
    for rid in rids:
        site.wait_for(rid, "active", timeout=90)
    assert_one_member_each(site, rids)


def test_prefork_worker_serves_the_metrics_of_its_jobs(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ztix worker` (prefork, the default pool: jobs run in child processes) serves what
    those children recorded on its metrics port."""
    from prometheus_client.parser import text_string_to_metric_families

    port = free_port()
    config = yaml.safe_load(site.config_file.read_text())
    config["jobs"]["worker_metrics_port"] = port
    site.config_file.write_text(yaml.safe_dump(config))
    temp = tmp_path / "worker-tmp"  # where the worker makes its private metrics directory
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    worker = site.spawn("w1", "worker", "--concurrency", "2")
    rid = site.request("abcdef0123")
    site.approve(rid)
    site.wait_for(rid, "active")
    (shared,) = temp.glob("ztix-worker-metrics-*")
    writers = {int(p.stem.rsplit("_", 1)[1]) for p in shared.glob("counter_*.db")}
    assert writers - {worker.pid}, "a pool process recorded the job's metrics"

    def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def value(samples: dict[Any, float], name: str, **labels: str) -> float:
        return sum(
            v
            for (n, found), v in samples.items()
            if n == name and set(labels.items()) <= set(found)
        )

    samples = scrape()
    attempts = "ztix_provisioning_attempts_total"
    assert value(samples, attempts, kind="provision", outcome="succeeded") == 1
    calls = "ztix_zerotier_calls_total"
    member = "/controller/network/{nwid}/member/{id}"
    assert value(samples, calls, provider="controller", method="POST", endpoint=member) >= 1
    # The start-up gate's calls, made by the parent process itself, are there too.
    assert value(samples, calls, provider="controller", endpoint="/status", status="200") >= 1
    assert value(samples, "ztix_zerotier_call_duration_seconds_count", endpoint=member) >= 1
    site.stop()
    assert worker.returncode is not None
    assert "worker metrics on http://127.0.0.1:" in (site.tmp / "w1.log").read_text()
    assert not shared.exists()  # removed when the worker stopped
