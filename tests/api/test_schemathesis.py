"""Schemathesis against /api/v1/openapi.json as an anonymous user, an operator and an admin.

Every operation of the OpenAPI document is called with generated data, valid (positive) and
invalid (negative), a bounded number of times per role, and every answer is checked: no server
error, a documented status code and content type, a body and headers that match the declared
schema, and invalid data refused. The operator logs in through a PeeringDB-like provider, the
admin with a local account, and a fuzzed logout is followed by a new login; the database is
seeded with requests in several states, and most valid cases aim at them, so that the
authenticated operations really run: the test asserts a good share of 2xx per role, and that
no authenticated call was ever answered as anonymous. Jobs go to the RecordingDispatcher and
ZeroTier is the controller emulator: nothing is provisioned for real.

Hypothesis runs derandomized, without shrinking or a deadline: the same cases every run.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.app import AppFactory, RecordingDispatcher, create_user, login
from tests.support.oidc_provider import FakePeeringDB, FakeUser, network
from tests.support.zt_fixtures import ix_networks
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus
from ztix.routeserver import status as route_server_status
from ztix.workflow import audit
from ztix.workflow import requests as service
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.emulator import ControllerEmulator

# Cases per operation, per generation mode (positive, negative), per role.
MAX_EXAMPLES = 10
ROLES = ("anonymous", "operator", "admin")
OPERATOR_ASNS = (213035, 13335)
OTHER_ASN = 3320  # someone else's requests: the operator must never see them
ROUTE_SERVER = "rs-fuzz"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
# What an anonymous user may do successfully; everything else needs a session.
PUBLIC = {
    "POST /api/v1/auth/local/login",  # only with real credentials, which fuzzing never finds
    "POST /api/v1/auth/peeringdb/start",
    "GET /participants.json",
}
# Operations that read what an anonymous user sends.
PUBLIC_DATA = {*PUBLIC, "POST /api/v1/auth/peeringdb/callback"}
# Lots: the fuzzer must meet the API, not its rate limits.
GENEROUS = {"attempts": 1_000_000, "window_seconds": 60}
AUTH_SETTINGS = {
    "login_failures_per_username": GENEROUS,
    "login_failures_per_address": GENEROUS,
    "writes_per_user": GENEROUS,
    "writes_per_address": GENEROUS,
}


# One backend, PostgreSQL, the production one: it refuses what SQLite lets through (NUL in
# text, integers past 64 bits), and it is no slower here.
pytestmark = pytest.mark.parametrize("migrated_url", ["postgresql"], indirect=True)


@pytest.fixture(scope="module")
def provider() -> Iterator[FakePeeringDB]:
    user = FakeUser(id=4242, networks=[network(asn, 15) for asn in OPERATOR_ASNS])
    with FakePeeringDB(user=user) as fake:
        yield fake


@dataclass
class Role:
    """Who calls: the cookie and CSRF token to send, and what the calls answered."""

    name: str
    relogin: Callable[[], tuple[str, str]] | None = None
    token: str | None = None
    csrf: str | None = None
    # (operation, generation mode, status, problem code or "") -> calls
    calls: Counter[tuple[str, str, int, str]] = field(default_factory=Counter)
    logins: int = 0

    def count(self, *, mode: str | None = None, status: range | None = None, code: str = "") -> int:
        return sum(
            n
            for (_, m, s, c), n in self.calls.items()
            if (mode is None or m == mode)
            and (status is None or s in status)
            and (not code or c == code)
        )

    def log_in(self) -> None:
        if self.relogin is not None:
            self.token, self.csrf = self.relogin()
            self.logins += 1

    def call_kwargs(self, cookie_name: str) -> dict[str, Any]:
        if self.token is None:
            return {}
        return {"cookies": {cookie_name: self.token}, "headers": {"X-CSRF-Token": self.csrf}}


def _local_login(client: TestClient, username: str, cookie_name: str) -> tuple[str, str]:
    client.cookies.clear()
    session = login(client, username)
    return client.cookies[cookie_name], session.csrf


def _peeringdb_login(client: TestClient, cookie_name: str) -> tuple[str, str]:
    """The SPA's two calls, with httpx playing the browser at the provider."""
    client.cookies.clear()
    start = client.post("/api/v1/auth/peeringdb/start")
    assert start.status_code == 200, start.text
    redirect = httpx.get(start.json()["authorize_url"], follow_redirects=False)
    assert redirect.status_code == 302, redirect.text
    back = {k: v[0] for k, v in parse_qs(urlsplit(redirect.headers["location"]).query).items()}
    response = client.post("/api/v1/auth/peeringdb/callback", json=back)
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "operator"
    return client.cookies[cookie_name], response.json()["csrf_token"]


def _seed(
    database: Database, operator: TestClient, other: TestClient, nwids: list[str]
) -> list[uuid.UUID]:
    """Requests in each state an action starts from, and one of another member's."""
    made: list[uuid.UUID] = []
    for i, (asn, nwid) in enumerate(
        (asn, nwid) for nwid in nwids for asn in OPERATOR_ASNS for _ in range(5)
    ):
        body = {"asn": asn, "zt_network_id": nwid, "node_id": f"abcdef01{i:02x}"}
        response = operator.post("/api/v1/requests", json=body)
        assert response.status_code == 201, response.text
        made.append(uuid.UUID(response.json()["id"]))
    response = other.post(
        "/api/v1/requests",
        json={"asn": OTHER_ASN, "zt_network_id": nwids[0], "node_id": "fedcba9876"},
    )
    assert response.status_code == 201, response.text
    made.append(uuid.UUID(response.json()["id"]))
    # pending, approved, failed, active, active, pending, ... over the operator's requests.
    actor = audit.CLI
    with database.session() as db:
        for n, rid in enumerate(made[:-1]):
            shape = n % 5
            if shape == 0:
                continue
            request = service.approve(db, rid, actor)
            if shape == 1:
                continue
            service.transition(db, request, RequestStatus.PROVISIONING, actor, "seed.started")
            if shape == 2:
                request.attempts = 3
                request.last_error_code = "controller_unavailable"
                request.last_error_system = "zerotier"
                service.transition(db, request, RequestStatus.FAILED, actor, "seed.gave_up")
            else:
                service.transition(db, request, RequestStatus.ACTIVE, actor, "seed.active")
    return made


@pytest.fixture
def api(
    make_client: AppFactory,
    database: Database,
    dispatcher: RecordingDispatcher,
    emulator: ControllerEmulator,
    provider: FakePeeringDB,
    tmp_path: Path,
) -> Iterator[tuple[TestClient, list[str], list[uuid.UUID]]]:
    provider.reset()
    route_server_status.forget()
    nets = ix_networks(emulator)
    with ControllerProvider(ControllerSettings(url=emulator.url, token=emulator.token)) as zt:
        for net in nets:
            zt.set_network(net["zt_network_id"], {"name": net["name"], "private": True})
    client = make_client(
        networks=nets,
        zerotier={
            "controller": {"url": emulator.url, "token": emulator.token, "timeout_seconds": 2}
        },
        peeringdb=provider.config(),
        auth=AUTH_SETTINGS,
        ixf={"enabled": True},
        # A route server whose BIRD is not running: its sessions read as an error.
        routeservers={
            "servers": [
                {
                    "name": ROUTE_SERVER,
                    "transport": "local",
                    "asn": 64500,
                    "router_id": "192.0.2.1",
                    "network": nets[0]["zt_network_id"],
                    "ipv4": "192.0.2.1",
                    "ipv6": "2001:db8:ab::1",
                    "birdc_socket": str(tmp_path / "bird.ctl"),
                    "config_dir": str(tmp_path / "rs" / "live"),
                    "main_config": str(tmp_path / "rs" / "bird.conf"),
                }
            ]
        },
    )
    nwids = [net["zt_network_id"] for net in nets]
    create_user(database, "root", admin=True)
    create_user(database, "bob", asns=(OTHER_ASN,))
    operator = TestClient(client.app)
    cookie = client.app.state.settings.auth.cookie_name
    _peeringdb_login(operator, cookie)
    operator.headers["X-CSRF-Token"] = operator.get("/api/v1/me").json()["csrf_token"]
    other = TestClient(client.app)
    other.headers["X-CSRF-Token"] = login(other, "bob").csrf
    ids = _seed(database, operator, other, nwids)
    dispatcher.seen.clear()
    yield client, nwids, ids
    asgi.shutdown_lifespans()


@dataclass
class Target:
    """The app under test and the rows worth aiming at."""

    schema: Any
    cookie: str
    ids: list[uuid.UUID]
    good_body: st.SearchStrategy[dict[str, Any]]
    aimed: int = 0

    def known_id(self) -> str:
        """The seeded requests in turn (hypothesis would keep drawing the first ones)."""
        self.aimed += 1
        return str(self.ids[self.aimed % len(self.ids)])


def _fuzz(target: Target, role: Role, operation: Any, mode: GenerationMode) -> None:
    """One operation in one generation mode as ``role``; raises on the first failure."""
    label = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def check(case: Any, data: st.DataObject) -> None:
        # Valid cases mostly aim at real rows, so that actions are tried on requests in every
        # state rather than only on unknown IDs.
        if mode is GenerationMode.POSITIVE and data.draw(st.integers(0, 3)) > 0:
            if case.path_parameters and "request_id" in case.path_parameters:
                case.path_parameters["request_id"] = target.known_id()
            if case.path_parameters and "name" in case.path_parameters:
                case.path_parameters["name"] = ROUTE_SERVER
            if label == "POST /api/v1/requests":
                case.body = data.draw(target.good_body)
        kwargs = role.call_kwargs(target.cookie)
        response = case.call(**kwargs)
        code = ""
        if response.headers.get("content-type", [""])[0].startswith("application/problem"):
            code = str(response.json().get("code"))
        role.calls[(label, mode.value, response.status_code, code)] += 1
        case.validate_response(response, checks=CHECKS, headers=kwargs.get("headers"))
        if label == "POST /api/v1/auth/logout" and response.status_code == 204:
            role.log_in()  # the fuzzer ended this role's session: start another
        revoked = label == "POST /api/v1/admin/users/{user_id}/sessions/revoke"
        if revoked and response.status_code == 200:
            role.log_in()  # it may have been the admin's own sessions: start another

    check()


def _free_string(schema: dict[str, Any]) -> bool:
    """A string (or null) that may hold anything: no type, length or pattern to break."""
    options = schema.get("anyOf", [schema])
    annotations = {"title", "description", "default", "examples"}
    return all(
        o.get("type") in ("string", "null") and not set(o) - {"type"} - annotations for o in options
    )


def _modes(document: dict[str, Any], operation: Any, role: Role) -> list[GenerationMode]:
    """Negative data too, unless nothing of the operation can be invalid (no body, only
    free-form string parameters): hypothesis would search for such data in vain. Anonymous
    calls to operations that need a session stop at the session check: valid data shows
    that as well as invalid data would."""
    label = f"{operation.method.upper()} {operation.path}"
    if role.relogin is None and label not in PUBLIC_DATA:
        return [GenerationMode.POSITIVE]
    raw = document["paths"][operation.path][operation.method.lower()]
    constrained = "requestBody" in raw or not all(
        _free_string(p["schema"]) for p in raw.get("parameters", [])
    )
    if constrained:
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


def _run(role: Role, client: TestClient, nwids: list[str], ids: list[uuid.UUID]) -> list[str]:
    """Every operation, positive and negative, as ``role``; the failures found."""
    app = client.app
    target = Target(
        schema=schemathesis.openapi.from_asgi("/api/v1/openapi.json", app),
        cookie=app.state.settings.auth.cookie_name,
        ids=ids,
        good_body=st.fixed_dictionaries(
            {
                "asn": st.sampled_from((*OPERATOR_ASNS, OTHER_ASN)),
                "zt_network_id": st.sampled_from(nwids),
                "node_id": st.from_regex(r"\A[0-9a-e][0-9a-f]{9}\Z"),
                "notes": st.text(max_size=40),
            }
        ),
    )
    role.log_in()
    failures: list[str] = []
    for result in target.schema.get_all_operations():
        operation = result.ok()
        for mode in _modes(target.schema.raw_schema, operation, role):
            try:
                _fuzz(target, role, operation, mode)
            except (Exception, FailureGroup) as exc:  # FailureGroup: a BaseExceptionGroup
                label = f"{operation.method.upper()} {operation.path}"
                failures.append(f"{label} [{mode.value}]: {exc}")
    return failures


OK = range(200, 300)


def _valid_calls(role: Role) -> tuple[int, int]:
    """Positive calls to the operations this role may use: (succeeded, all)."""
    usable = [
        (status, n)
        for (label, mode, status, _), n in role.calls.items()
        if mode == "positive" and (role.name == "admin" or " /api/v1/admin/" not in label)
    ]
    return sum(n for status, n in usable if status in OK), sum(n for _, n in usable)


def _summary(role: Role) -> str:
    statuses: Counter[int] = Counter()
    for (_, _, status, _), n in role.calls.items():
        statuses[status] += n
    ok, usable = _valid_calls(role)
    lines = [
        f"{role.name}: {sum(statuses.values())} calls, {dict(sorted(statuses.items()))}, "
        f"{role.logins} logins; {ok} of {usable} valid calls to its operations succeeded"
    ]
    for (label, mode, status, code), n in sorted(role.calls.items()):
        lines.append(f"  {label} [{mode}] -> {status} {code}: {n}")
    return "\n".join(lines)


@pytest.mark.parametrize("who", ROLES)
def test_api_conforms_to_its_schema(
    who: str, api: tuple[TestClient, list[str], list[uuid.UUID]]
) -> None:
    client, nwids, ids = api
    cookie = client.app.state.settings.auth.cookie_name
    role = Role(who)
    if who == "admin":
        role.relogin = lambda: _local_login(TestClient(client.app), "root", cookie)
    elif who == "operator":
        role.relogin = lambda: _peeringdb_login(TestClient(client.app), cookie)
    failures = _run(role, client, nwids, ids)
    print(_summary(role))
    assert not failures, "\n\n".join(failures)

    document = client.app.openapi()
    every = {f"{m.upper()} {path}" for path, item in document["paths"].items() for m in item}
    assert {label for (label, _, _, _) in role.calls} == every
    assert role.count(status=range(500, 600)) == 0
    succeeded = {label for (label, _, status, _) in role.calls if status in OK}
    if who == "anonymous":
        assert succeeded <= PUBLIC, succeeded - PUBLIC
        assert role.count(code="not_authenticated") > 0
        return
    # Signed in all along: never answered as anonymous, and a good share of the valid calls
    # to what this role may use succeeded.
    assert role.count(code="not_authenticated") == role.count(code="session_expired") == 0
    ok, usable = _valid_calls(role)
    assert ok >= 0.35 * usable, f"{ok} of {usable} valid calls succeeded"
    admin_ops = {label for label in succeeded if " /api/v1/admin/" in label}
    if who == "operator":
        assert not admin_ops, admin_ops
        assert role.count(code="admin_required") > 0
    else:
        assert len(admin_ops) >= 8, admin_ops
        assert role.count(code="admin_required") == 0


# --- what the fuzzer found, pinned down ------------------------------------------------


@pytest.mark.parametrize(
    ("who", "method", "url", "body"),
    [
        # PostgreSQL text cannot hold NUL: all but the callback were 500s (its error text
        # would reach the audit trail once the state is valid).
        ("anonymous", "POST", "/api/v1/auth/local/login", {"username": "a\x00", "password": "x"}),
        ("anonymous", "POST", "/api/v1/auth/peeringdb/callback", {"state": "s", "error": "\x00"}),
        (
            "member",
            "POST",
            "/api/v1/requests",
            {
                "asn": 213035,
                "zt_network_id": "8056c2e21c000001",
                "node_id": "abcdef0123",
                "notes": "\x00",
            },
        ),
        ("admin", "POST", f"/api/v1/admin/requests/{uuid.UUID(int=1)}/reject", {"reason": "\x00"}),
        ("admin", "GET", "/api/v1/admin/audit?actor=%00", None),
        ("admin", "GET", "/api/v1/admin/audit?action=a%00", None),
        # Past what a bigint offset or a datetime takes: these were 500s.
        ("member", "GET", f"/api/v1/requests?offset={10**20}", None),
        ("admin", "GET", f"/api/v1/admin/requests?offset={10**20}", None),
        ("admin", "GET", f"/api/v1/admin/audit?offset={10**20}", None),
        ("admin", "GET", f"/api/v1/admin/requests?min_age_minutes={10**12}", None),
    ],
)
def test_refused_as_invalid_not_a_server_error(
    who: str,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    make_client: AppFactory,
    login_as: Callable[..., Any],
) -> None:
    client = TestClient(make_client().app, raise_server_exceptions=False)
    headers = {}
    if who == "member":
        headers["X-CSRF-Token"] = login_as("alice", asns=(213035,), client=client).csrf
    elif who == "admin":
        headers["X-CSRF-Token"] = login_as("root", admin=True, client=client).csrf
    response = client.request(method, url, json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_failed"


def test_problems_are_documented_as_problem_json(make_client: AppFactory) -> None:
    document = make_client().get("/api/v1/openapi.json").json()
    for item in document["paths"].values():
        for operation in item.values():
            for status_code, response in operation["responses"].items():
                if int(status_code) < 400:
                    continue
                assert list(response["content"]) == ["application/problem+json"]
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}
