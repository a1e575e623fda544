"""Liveness, readiness, metrics and structured logs (docs/operations.md)."""

from __future__ import annotations

import gc
import io
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.support.app import LOOPBACK, NWID, RecordingDispatcher, Session, make_settings
from ztix import context
from ztix.api.app import create_app
from ztix.config import Settings
from ztix.db.session import Database
from ztix.jobs import celery_app, celery_publish, runner
from ztix.jobs.tasks import Outcome
from ztix.observability import JsonFormatter
from ztix.zerotier.emulator import ControllerEmulator

CLOSED_PG = "postgresql://postgres@127.0.0.1:1/x"


def _client(settings: Settings, database: Database) -> TestClient:
    app = create_app(settings, database=database, dispatcher=RecordingDispatcher(seen=[]))
    app.state.readiness.ttl = 0  # no caching: each probe runs the checks
    return TestClient(app, client=LOOPBACK)  # a probe on the API's host sees the checks


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """An app probed from its own host, where /metrics and /readyz's checks answer."""
    return TestClient(make_client().app, client=LOOPBACK)


@pytest.fixture
def down_client() -> Iterator[TestClient]:
    """An app whose PostgreSQL is a closed port (and no controller to check)."""
    database = Database(CLOSED_PG)
    settings = make_settings(CLOSED_PG, zerotier={"provider": "central"})
    with _client(settings, database) as client:
        yield client
    database.dispose()


def test_healthz_is_alive(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


def test_readyz_names_an_unreachable_database(down_client: TestClient) -> None:
    response = down_client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unready"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["reason"]
    assert "controller" not in body["checks"]  # Central: nothing self-hosted to check
    assert down_client.get("/healthz").status_code == 200  # alive without a database


@pytest.mark.both_databases
def test_readyz_follows_the_controller(
    emulator: ControllerEmulator,
    zt_settings: Callable[..., Settings],
    database: Database,
) -> None:
    with _client(zt_settings(), database) as client:
        response = client.get("/readyz")
        assert response.status_code == 200, response.text
        checks = response.json()["checks"]
        assert set(checks) == {"database", "controller"}
        assert all(c["ok"] for c in checks.values())

        emulator.stop()
        response = client.get("/readyz")
        assert response.status_code == 503
        checks = response.json()["checks"]
        assert checks["database"]["ok"] is True
        assert checks["controller"]["ok"] is False
        assert checks["controller"]["reason"]

        emulator.start()  # same port, same state
        assert client.get("/readyz").status_code == 200


def test_readyz_with_celery_names_the_broker(
    database: Database, make_client: Callable[..., TestClient]
) -> None:
    make_client()  # syncs the networks
    settings = make_settings(
        database.url,
        zerotier={"provider": "central"},
        jobs={"runner": "celery", "broker_url": "redis://127.0.0.1:1/0"},
    )
    with _client(settings, database) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["broker"]["ok"] is False


def test_readyz_is_cached(down_client: TestClient) -> None:
    readiness = down_client.app.state.readiness  # type: ignore[attr-defined]
    readiness.ttl = 60
    calls = 0
    real = readiness.checks

    def counting() -> Any:
        nonlocal calls
        calls += 1
        return real()

    readiness.checks = counting
    for _ in range(3):
        assert down_client.get("/readyz").status_code == 503
    assert calls == 1


def _samples(text: str) -> list[Any]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def test_metrics_expose_latency_by_route_and_requests_by_state(member: Session) -> None:
    created = member.post(
        "/api/v1/requests", json={"asn": 213035, "zt_network_id": NWID, "node_id": "abcdef0123"}
    )
    assert created.status_code in (200, 201), created.text
    request_id = created.json()["id"]
    assert member.get(f"/api/v1/requests/{request_id}").status_code == 200

    response = TestClient(member.client.app, client=LOOPBACK).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    routes = {
        s.labels["route"] for s in samples if s.name == "ztix_http_request_duration_seconds_count"
    }
    assert "/api/v1/requests/{request_id}" in routes  # the template, not the raw path
    assert f"/api/v1/requests/{request_id}" not in routes
    counts = [
        s
        for s in samples
        if s.name == "ztix_http_request_duration_seconds_count"
        and s.labels["route"] == "/api/v1/requests/{request_id}"
    ]
    assert counts[0].labels["status"] == "200" and counts[0].value == 1
    states = {s.labels["status"]: s.value for s in samples if s.name == "ztix_requests"}
    assert states["pending"] == 1
    assert states["active"] == 0


def test_metrics_record_provisioning_attempts(client: TestClient) -> None:
    from ztix import observability

    observability.record_provisioning("provision", "succeeded", 0.2)
    observability.record_route_server_round([("rs1", "applied")], 0.5)
    samples = _samples(client.get("/metrics").text)
    attempts = [s for s in samples if s.name == "ztix_provisioning_attempts_total"]
    assert attempts[0].labels == {"kind": "provision", "outcome": "succeeded"}
    syncs = [s for s in samples if s.name == "ztix_route_server_syncs_total"]
    assert syncs[0].labels == {"server": "rs1", "result": "applied"} and syncs[0].value == 1


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    ztix = logging.getLogger("ztix")
    ztix.addHandler(handler)
    old = ztix.level
    ztix.setLevel(logging.INFO)
    yield stream
    ztix.removeHandler(handler)
    ztix.setLevel(old)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_log_carries_the_correlation_id(
    down_client: TestClient, json_log: io.StringIO
) -> None:
    response = down_client.get("/readyz", headers={"X-Request-ID": "probe-42"})
    assert response.headers["X-Request-ID"] == "probe-42"
    lines = [entry for entry in _lines(json_log) if entry["logger"] == "ztix.api.routes.health"]
    assert lines, json_log.getvalue()
    entry = lines[0]
    assert entry["correlation_id"] == "probe-42"
    assert entry["level"] == "WARNING"
    assert "database" in entry["message"]
    assert set(entry) >= {"time", "level", "logger", "message", "correlation_id"}


def test_in_process_jobs_carry_the_correlation_id(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []
    done = threading.Event()

    def job(ctx: Any, request_id: uuid.UUID) -> Outcome:
        seen.append(context.correlation_id.get())
        done.set()
        return Outcome(done=True)

    monkeypatch.setattr(runner, "process_request", job)
    pool = runner.InProcessRunner(threads=1)
    pool.bind(object())  # type: ignore[arg-type]
    token = context.correlation_id.set("http-7")
    try:
        pool.request_changed(uuid.uuid4())
    finally:
        context.correlation_id.reset(token)
    assert done.wait(5)
    pool.stop()
    assert seen == ["http-7"]


def test_celery_dispatch_carries_the_correlation_id(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(
        celery_publish.app(), "send_task", lambda name, **kw: sent.append((name, kw))
    )
    token = context.correlation_id.set("http-8")
    try:
        celery_publish.CeleryDispatcher().request_changed(uuid.uuid4())
    finally:
        context.correlation_id.reset(token)
    name, options = sent[0]
    assert name == celery_app.process_request_task.name  # the task the worker registered
    assert options["kwargs"] == {"correlation_id": "http-8"}


# -- outbound calls: ZeroTier and PeeringDB ----------------------------------------------------


def _value(samples: list[Any], name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_endpoint_templates_hide_the_ids() -> None:
    from ztix.zerotier.members import endpoint_template

    nwid, node = "8056c2e21c000001", "abcdef0123"
    assert endpoint_template("/status") == "/status"
    assert endpoint_template("/controller") == "/controller"
    assert endpoint_template("/controller/network") == "/controller/network"
    assert endpoint_template(f"/controller/network/{nwid}") == "/controller/network/{nwid}"
    assert endpoint_template("/controller/network/8056c2e21c______") == (
        "/controller/network/{nwid}"
    )
    assert endpoint_template(f"/controller/network/{nwid}/member/{node}") == (
        "/controller/network/{nwid}/member/{id}"
    )
    assert endpoint_template(f"/network/{nwid}/member?x=1") == "/network/{nwid}/member"
    assert endpoint_template("/unknown/thing") == "/{other}/{other}"


def test_metrics_count_controller_calls_by_endpoint_and_status(
    client: TestClient, emulator: ControllerEmulator
) -> None:
    from ztix.zerotier.controller import ControllerProvider, ControllerSettings
    from ztix.zerotier.provider import MemberSpec, ProviderError

    nwid = f"{emulator.address}000009"
    settings = ControllerSettings(url=emulator.url, token=emulator.token, timeout_seconds=0.3)
    with ControllerProvider(settings) as zt:
        zt.set_network(nwid, {"name": "metrics"})
        zt.ensure_member(MemberSpec(nwid, "abcdef0123", True, ("192.0.2.9",)))
        emulator.fail_next(1, 503)
        with pytest.raises(ProviderError):
            zt.list_members(nwid)
        emulator.drop_next(1)
        with pytest.raises(ProviderError):
            zt.list_members(nwid)
        emulator.time_out_next(1, hang_seconds=1)
        with pytest.raises(ProviderError):
            zt.list_members(nwid)

    text = client.get("/metrics").text
    assert nwid not in text and "abcdef0123" not in text  # templates, never raw IDs
    samples = _samples(text)
    calls = "ztix_zerotier_calls_total"
    member = "/controller/network/{nwid}/member/{id}"
    members = "/controller/network/{nwid}/member"
    ctl = {"provider": "controller"}
    assert _value(samples, calls, **ctl, method="POST", endpoint=member, status="200") == 1
    assert _value(samples, calls, **ctl, method="GET", endpoint=member, status="200") >= 1
    assert _value(samples, calls, **ctl, method="GET", endpoint=members, status="503") == 1
    assert _value(samples, calls, **ctl, method="GET", endpoint=members, status="error") == 1
    assert _value(samples, calls, **ctl, method="GET", endpoint=members, status="timeout") == 1
    duration = "ztix_zerotier_call_duration_seconds_count"
    assert _value(samples, duration, **ctl, method="GET", endpoint=members) == 3
    assert _value(samples, "ztix_zerotier_call_duration_seconds_sum", endpoint=members) >= 0.3


def test_metrics_count_central_calls(client: TestClient) -> None:
    from tests.support.central_fake import FakeCentral
    from ztix.zerotier.central import CentralProvider, CentralSettings
    from ztix.zerotier.provider import MemberSpec, ProviderAuthFailed

    nwid = "8056c2e21c000077"
    with FakeCentral() as central:
        central.add_network(nwid)
        settings = CentralSettings(url=central.url, token=central.token)
        with CentralProvider(settings) as zt:
            zt.ensure_member(MemberSpec(nwid, "abcdef0456", True, ("192.0.2.7",)))
        wrong = CentralSettings(url=central.url, token="not-the-token")
        with CentralProvider(wrong) as zt, pytest.raises(ProviderAuthFailed):
            zt.list_members(nwid)
    samples = _samples(client.get("/metrics").text)
    calls = "ztix_zerotier_calls_total"
    member = "/network/{nwid}/member/{id}"
    assert _value(samples, calls, provider="central", method="POST", endpoint=member) == 1
    assert (
        _value(samples, calls, provider="central", endpoint="/network/{nwid}/member", status="401")
        == 1
    )


def test_metrics_count_peeringdb_api_fetches(client: TestClient) -> None:
    from ztix.config import PeeringDBApiConfig
    from ztix.peeringdb.api import PeeringDBApi, PeeringDBUnavailable

    answers = iter([200, 502])

    def peeringdb(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers), json={"data": []})

    api = PeeringDBApi(PeeringDBApiConfig(), transport=httpx.MockTransport(peeringdb))
    api.fetch([213035])
    with pytest.raises(PeeringDBUnavailable):
        api.never_via_route_servers()

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    down = PeeringDBApi(PeeringDBApiConfig(), transport=httpx.MockTransport(unreachable))
    with pytest.raises(PeeringDBUnavailable):
        down.fetch([213035])
    samples = _samples(client.get("/metrics").text)
    fetches = "ztix_peeringdb_fetches_total"
    assert _value(samples, fetches, kind="net", status="200") == 1
    assert _value(samples, fetches, kind="net", status="502") == 1
    assert _value(samples, fetches, kind="net", status="error") == 1
    assert _value(samples, "ztix_peeringdb_fetch_duration_seconds_count", kind="net") == 3


def test_metrics_count_peeringdb_login_requests(client: TestClient) -> None:
    from tests.support.oidc_provider import FakePeeringDB
    from ztix.auth.peeringdb import PeeringDBClient
    from ztix.errors import AppError

    with FakePeeringDB() as fake, PeeringDBClient(fake.config()) as oidc:
        start = oidc.start()
        redirect = httpx.get(start.authorize_url, follow_redirects=False)
        code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
        oidc.complete(code, nonce=start.nonce, code_verifier=start.code_verifier)
        with pytest.raises(AppError):  # the code is single use: 400 invalid_grant
            oidc.complete(code, nonce=start.nonce, code_verifier=start.code_verifier)
    samples = _samples(client.get("/metrics").text)
    fetches = "ztix_peeringdb_fetches_total"
    assert _value(samples, fetches, kind="oidc_discovery", status="200") == 1
    assert _value(samples, fetches, kind="oidc_jwks", status="200") == 1
    assert _value(samples, fetches, kind="oidc_token", status="200") == 1
    assert _value(samples, fetches, kind="oidc_token", status="400") == 1
    assert _value(samples, fetches, kind="oidc_userinfo", status="200") == 1


def test_metric_names_follow_prometheus_conventions(client: TestClient) -> None:
    from ztix import observability

    observability.record_zerotier_call("controller", "GET", "/status", "200", 0.01)
    observability.record_peeringdb_fetch("net", "200", 0.01)
    families = {f.name: f.type for f in text_string_to_metric_families(client.get("/metrics").text)}
    assert families["ztix_zerotier_calls"] == "counter"  # exposed as ..._total
    assert families["ztix_peeringdb_fetches"] == "counter"
    assert families["ztix_provisioning_attempts"] == "counter"
    assert families["ztix_route_server_syncs"] == "counter"
    for name in (
        "ztix_http_request_duration_seconds",
        "ztix_zerotier_call_duration_seconds",
        "ztix_peeringdb_fetch_duration_seconds",
        "ztix_provisioning_duration_seconds",
    ):
        assert families[name] == "histogram"


def test_worker_metrics_server_serves_the_job_metrics() -> None:
    """The thread-pool/solo case in this process; tests/integration/test_jobs_celery.py runs a real
    prefork worker."""
    from ztix import observability

    server = observability.serve_worker_metrics("127.0.0.1", 0, multiprocess=False)
    try:
        observability.record_provisioning("provision", "succeeded", 0.3)
        observability.record_zerotier_call(
            "controller", "POST", "/controller/network/{nwid}/member/{id}", "200", 0.02
        )
        answer = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=5)
        assert answer.status_code == 200
        samples = _samples(answer.text)
        assert _value(samples, "ztix_provisioning_attempts_total", outcome="succeeded") >= 1
        assert _value(samples, "ztix_zerotier_calls_total", method="POST") >= 1
        assert not [s for s in samples if s.name == "ztix_requests"]  # the API's gauge only
        with pytest.raises(OSError):  # the port is taken
            observability.serve_worker_metrics("127.0.0.1", server.port, multiprocess=False)
    finally:
        server.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=2)


def test_start_up_objects_are_frozen_once_per_process(
    make_client: Callable[..., TestClient],
) -> None:
    """The first app's start-up moves what it built out of the collector's sight (the
    benchmark's p99 fell fivefold); a later app does not freeze again, so objects of earlier
    apps (tests build many) stay collectable."""
    with make_client():
        frozen = gc.get_freeze_count()
        assert frozen > 0
    with make_client():
        # Not more: frozen objects of the first app that were freed since leave the count.
        assert gc.get_freeze_count() <= frozen


def test_building_the_app_asks_the_database_nothing_for_metrics(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The collectors read at scrape time describe themselves: registering them queries
    neither the database nor the route servers (an HTTP worker at rest holds no statement,
    connection or status it has not needed). Their names are still registered, so a clash
    is still refused."""
    from ztix.irr.metrics import IrrCollector

    database = Database(CLOSED_PG)
    settings = make_settings(CLOSED_PG, zerotier={"provider": "central"})
    with caplog.at_level(logging.WARNING):
        app = create_app(settings, database=database, dispatcher=RecordingDispatcher(seen=[]))
    try:
        assert not [r for r in caplog.records if "metrics: cannot read" in r.getMessage()]
        with pytest.raises(ValueError, match="ztix_irr_members"):
            app.state.metrics.registry.register(IrrCollector(database))
    finally:
        database.dispose()


def test_metric_collectors_describe_what_they_collect(client: TestClient) -> None:
    from ztix import observability
    from ztix.routeserver.metrics import SessionRoutes

    settings = client.app.state.settings  # type: ignore[attr-defined]
    collectors = [
        *observability.database_collectors(client.app.state.database),  # type: ignore[attr-defined]
        SessionRoutes(settings.routeservers),
    ]
    for collector in collectors:
        described = [(m.name, m.type, m.documentation) for m in collector.describe()]
        collected = [(m.name, m.type, m.documentation) for m in collector.collect()]
        assert described == collected, type(collector).__name__
        assert not [s for m in collector.describe() for s in m.samples]
