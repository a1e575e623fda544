"""No secret reaches a log line or an API answer (DESIGN §5, issue 6).

Realistic flows run with secrets this test knows: local passwords (right and wrong), the
session cookie and CSRF token, PeeringDB's client secret, authorization codes, PKCE
verifiers and the access/refresh/ID tokens, the controller token (also when the controller
answers 401), the ZeroTier Central token, the PeeringDB API key, a route server's SSH private
key (used against a real sshd) and the password in DATABASE_URL. Every log record of every
logger is captured at DEBUG (httpx, httpcore, asyncssh, authlib, uvicorn included; SQLAlchemy at
the level it keeps whatever ZT-IX's logging.level is, as its echo prints rows by design), and
every API answer (body and headers, /metrics, /readyz and problem bodies included) is
recorded; none may contain any of the secrets. Only two places legitimately carry one: the
``Set-Cookie`` header that sets a cookie, and the ``csrf_token`` field of the signed-in
user's own profile (login answers and ``GET /api/v1/me``), where the web app reads it.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.app import LOOPBACK, NETWORKS, NWID, create_user, make_settings, truncate
from tests.support.central_fake import FakeCentral
from tests.support.oidc_provider import FakePeeringDB
from tests.support.sshd import SshServer, running_sshd
from tests.support.waiting import wait_for
from tests.support.zt_fixtures import ix_networks
from ztix.api.app import create_app
from ztix.config import Settings
from ztix.db import migrate
from ztix.db.models import OidcLoginState
from ztix.db.session import Database
from ztix.observability import JsonFormatter
from ztix.routeserver import status as rs_status
from ztix.workflow import audit, networks
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.emulator import ControllerEmulator

ME_PATHS = (
    "/api/v1/auth/local/login",
    "/api/v1/auth/peeringdb/callback",
    "/api/v1/me",
)


def secret(prefix: str) -> str:
    return f"{prefix}-{secrets.token_urlsafe(18)}"


# -- what is captured ----------------------------------------------------------------------------


class LogCapture(logging.Handler):
    """Every record of every logger, formatted as ZT-IX writes it and as plain text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._paused: set[int] = set()
        self._json = JsonFormatter()
        self._plain = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        if threading.get_ident() in self._paused:
            return
        try:
            text = self._json.format(record) + "\n" + self._plain.format(record)
            if record.args:
                text += "\n" + repr(record.args)
        except Exception as exc:  # a record that cannot be formatted is still looked at
            text = f"{record.name} {record.msg!r} {record.args!r} ({exc})"
        self.lines.append(text)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Leave out this thread's records: the test playing the browser at PeeringDB logs
        the redirect with its code, which is the browser's business, not ZT-IX's."""
        self._paused.add(threading.get_ident())
        try:
            yield
        finally:
            self._paused.discard(threading.get_ident())


@dataclass
class Answer:
    method: str
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: str


@dataclass
class Leaks:
    """Secrets, and everything ZT-IX said: the log lines and the API answers."""

    logs: LogCapture
    secrets: dict[str, str] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)

    def add(self, what: str, value: str | None) -> None:
        assert value, f"the test lost track of {what}"
        self.secrets[what] = value

    def watch(self, client: TestClient) -> TestClient:
        def record(response: httpx.Response) -> None:
            response.read()
            request = response.request
            self.answers.append(
                Answer(
                    request.method,
                    str(request.url),
                    response.status_code,
                    list(response.headers.multi_items()),
                    response.text,
                )
            )

        client.event_hooks = {"request": [], "response": [record]}
        return client

    def _visible(self, answer: Answer) -> str:
        """What must be free of secrets: all but cookie settings and the profile's token."""
        headers = "\n".join(f"{k}: {v}" for k, v in answer.headers if k.lower() != "set-cookie")
        body = answer.body
        path = urlsplit(answer.url).path
        if path in ME_PATHS and answer.status == 200:
            document = json.loads(body)
            assert isinstance(document.pop("csrf_token"), str)
            body = json.dumps(document)
        return f"{answer.method} {answer.url} {answer.status}\n{headers}\n{body}"

    def assert_none(self) -> None:
        assert self.answers, "no API answer was recorded"
        assert self.logs.lines, "no log record was captured"
        assert self.secrets
        found = []
        for what, value in self.secrets.items():
            for line in self.logs.lines:
                if value in line:
                    found.append(f"{what} in a log record: {line[:400]}")
            for answer in self.answers:
                if value in self._visible(answer):
                    found.append(f"{what} in {answer.method} {answer.url}: {answer.body[:400]}")
        assert not found, "\n".join(found)


@pytest.fixture
def leaks() -> Iterator[Leaks]:
    """DEBUG from every logger into one handler on the root, restored afterwards."""
    capture = LogCapture()
    root = logging.getLogger()
    saved: list[tuple[logging.Logger, int, bool, bool]] = []
    for logger in [root, *logging.root.manager.loggerDict.values()]:
        if isinstance(logger, logging.Logger):
            saved.append((logger, logger.level, logger.disabled, logger.propagate))
            logger.disabled = False
            # SQLAlchemy's echo (its "sqlalchemy" loggers below WARNING) prints the rows it
            # reads, by design; ZT-IX never turns it on, whatever logging.level says.
            if logger.level > logging.DEBUG and not logger.name.startswith("sqlalchemy"):
                logger.setLevel(logging.DEBUG)
            if not logger.propagate:
                logger.addHandler(capture)
    root.setLevel(logging.DEBUG)
    root.addHandler(capture)
    try:
        yield Leaks(capture)
    finally:
        root.removeHandler(capture)
        for logger, level, disabled, propagate in saved:
            logger.setLevel(level)
            logger.disabled = disabled
            if not propagate:
                logger.removeHandler(capture)


# -- parts -------------------------------------------------------------------------------------


def with_password(url: str, password: str) -> str:
    """``postgresql://user@host/db`` with a password (the test server trusts any)."""
    scheme, rest = url.split("://", 1)
    userinfo, host = rest.split("@", 1)
    return f"{scheme}://{userinfo.split(':', 1)[0]}:{password}@{host}"


@pytest.fixture
def pg(pg_url: str) -> str:
    migrate.upgrade(pg_url)
    database = Database(pg_url)
    truncate(database)
    database.dispose()
    return pg_url


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """OpenSSH on 127.0.0.1 that accepts one generated client key (no BIRD behind it)."""
    with running_sshd(tmp_path_factory.mktemp("sshd"), comment="ztix-no-secrets") as server:
        yield server


def key_material(private_key: str) -> list[str]:
    """The lines of a PEM/OpenSSH private key between its armour lines."""
    lines = [ln.strip() for ln in private_key.splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("-----")]


def login(leaks: Leaks, client: TestClient, username: str, password: str) -> str:
    """Log in; remember the session cookie and the CSRF token as secrets."""
    response = client.post(
        "/api/v1/auth/local/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    csrf: str = response.json()["csrf_token"]
    leaks.add(f"{username}'s session cookie", client.cookies.get("ztix_session"))
    leaks.add(f"{username}'s CSRF token", csrf)
    return csrf


def request_status(client: TestClient, request_id: str) -> str:
    return str(client.get(f"/api/v1/requests/{request_id}").json()["status"])


def read_everything(client: TestClient, csrf: str, request_ids: list[str]) -> None:
    """Every admin and member view, and the operational endpoints."""
    get = client.get
    for path in (
        "/api/v1/me",
        "/api/v1/onboarding/context",
        "/api/v1/requests",
        "/api/v1/admin/requests",
        "/api/v1/admin/audit?limit=200",
        "/api/v1/admin/controller",
        "/api/v1/admin/route-servers?sessions=true",
        "/participants.json",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        get(path)
    for rid in request_ids:
        get(f"/api/v1/requests/{rid}")
        get(f"/api/v1/requests/{rid}/route-servers")
        get(f"/api/v1/admin/requests/{rid}")
    # Problems: no CSRF token, a wrong one, an unknown request, a bad body.
    client.post(f"/api/v1/admin/requests/{request_ids[0]}/retry")
    client.post(f"/api/v1/admin/requests/{request_ids[0]}/retry", headers={"X-CSRF-Token": "wrong"})
    client.get("/api/v1/admin/requests/00000000-0000-0000-0000-000000000000")
    client.post("/api/v1/requests", json={"asn": "x"}, headers={"X-CSRF-Token": csrf})


# -- the flows ---------------------------------------------------------------------------------


def test_local_login_provisioning_and_admin_views_leak_nothing(
    leaks: Leaks,
    pg: str,
    emulator: ControllerEmulator,
    sshd: SshServer,
    tmp_path: Path,
) -> None:
    db_password = secret("dbpw")
    api_key = secret("pdbkey")
    leaks.add("DATABASE_URL password", db_password)
    leaks.add("PeeringDB API key", api_key)
    leaks.add("controller token", emulator.token)
    for i, line in enumerate(key_material(sshd.client_key_text)):
        leaks.add(f"SSH private key line {i}", line)
    nets = ix_networks(emulator)
    settings = make_settings(
        with_password(pg, db_password),
        networks=nets,
        zerotier={
            "controller": {"url": emulator.url, "token": emulator.token, "timeout_seconds": 2}
        },
        jobs={"retry": {"base_seconds": 0.05, "cap_seconds": 0.2, "max_attempts": 2}},
        peeringdb_api={"base_url": "http://127.0.0.1:9/api", "api_key": api_key},
        routeservers={
            "servers": [
                {
                    "name": "rs1",
                    "transport": "ssh",
                    "host": "127.0.0.1",
                    "port": sshd.port,
                    "user": "root",
                    "host_key": sshd.host_key_line,
                    "private_key_file": str(sshd.client_key_file),
                    "config_dir": str(tmp_path / "rs" / "live"),
                    "main_config": str(tmp_path / "rs" / "bird.conf"),
                    "birdc_socket": str(tmp_path / "rs" / "bird.ctl"),
                    "asn": 64999,
                    "router_id": "192.0.2.254",
                    "network": nets[0]["zt_network_id"],
                    "ipv4": "192.0.2.254",
                    "ipv6": "2001:db8:ab::fe",
                    "ssh_timeout_seconds": 5,
                }
            ]
        },
    )
    prepare_controller_networks(emulator, settings)
    admin_pw, member_pw, wrong_pw = secret("adminpw"), secret("memberpw"), secret("wrongpw")
    for what, value in (("admin", admin_pw), ("member", member_pw), ("wrong", wrong_pw)):
        leaks.add(f"{what} password", value)
    database = Database(with_password(pg, db_password))
    with database.session() as db:
        networks.sync_networks(db, audit.SYSTEM, settings.networks)
    create_user(database, "root", admin=True, password=admin_pw)
    create_user(database, "alice", asns=(213035,), password=member_pw)
    database.dispose()
    rs_status.forget()

    app = create_app(settings)
    app.state.readiness.ttl = 0
    # The admin works on the API's host: /metrics (loopback only) is read too.
    with TestClient(app, client=LOOPBACK) as admin, TestClient(app) as member:
        leaks.watch(admin)
        leaks.watch(member)
        failed = admin.post(
            "/api/v1/auth/local/login", json={"username": "root", "password": wrong_pw}
        )
        assert failed.status_code == 401
        admin_csrf = login(leaks, admin, "root", admin_pw)
        member_csrf = login(leaks, member, "alice", member_pw)
        nwid = nets[0]["zt_network_id"]

        def join(node: str) -> str:
            created = member.post(
                "/api/v1/requests",
                json={"asn": 213035, "zt_network_id": nwid, "node_id": node},
                headers={"X-CSRF-Token": member_csrf},
            )
            assert created.status_code == 201, created.text
            rid = str(created.json()["id"])
            approved = admin.post(
                f"/api/v1/admin/requests/{rid}/approve", headers={"X-CSRF-Token": admin_csrf}
            )
            assert approved.status_code == 200, approved.text
            return rid

        first = join("abcdef0123")
        # The member is authorized on ZeroTier; the route server (sshd, no BIRD) fails.
        wait_for(
            "the member on the controller",
            lambda: emulator.member(nwid, "abcdef0123") is not None,
            20,
        )
        wait_for(
            "a route-server sync",
            lambda: bool(admin.get("/api/v1/admin/route-servers").json()[0]["sync"]),
            20,
        )
        read_everything(admin, admin_csrf, [first])
        read_everything(member, member_csrf, [first])

        # The controller stops accepting our token: 401 in readiness and in the job.
        emulator.set_token(secret("rotated"))
        second = join("abcdef0456")
        wait_for(
            "the job to end",
            lambda: request_status(member, second) not in ("approved", "provisioning"),
            20,
        )
        ready = admin.get("/readyz")
        assert ready.status_code == 503 and "401" in ready.json()["checks"]["controller"]["reason"]
        read_everything(admin, admin_csrf, [first, second])
        member.post("/api/v1/auth/logout", headers={"X-CSRF-Token": member_csrf})
        member.get("/api/v1/me")  # the revoked session: a problem

    assert any("HTTP 401" in line for line in leaks.logs.lines), "the 401 path ran"
    assert any("asyncssh" in line for line in leaks.logs.lines), "SSH was used"
    leaks.assert_none()


def prepare_controller_networks(emulator: ControllerEmulator, settings: Settings) -> None:
    with ControllerProvider(ControllerSettings(url=emulator.url, token=emulator.token)) as zt:
        for net in settings.networks:
            assert net.zt_network_id is not None
            zt.set_network(net.zt_network_id, {"name": net.name, "private": True})


def test_peeringdb_login_leaks_nothing(leaks: Leaks, database: Database) -> None:
    client_secret = secret("oidc-client-secret")
    leaks.add("PeeringDB client secret", client_secret)
    with FakePeeringDB(client_secret=client_secret) as fake:
        settings = make_settings(database.url, peeringdb=fake.config(admin_user_ids=(4242,)))
        with database.session() as db:
            networks.sync_networks(db, audit.SYSTEM, settings.networks)
        app = create_app(settings, database=database)
        with TestClient(app) as browser:
            leaks.watch(browser)

            attempts = iter(range(100))

            def authorize() -> dict[str, str]:
                n = next(attempts)
                started = browser.post("/api/v1/auth/peeringdb/start")
                assert started.status_code == 200, started.text
                leaks.add(f"browser binding {n}", browser.cookies.get("ztix_oidc_binding"))
                with leaks.logs.paused():
                    redirect = httpx.get(started.json()["authorize_url"])
                query = parse_qs(urlsplit(redirect.headers["location"]).query)
                back = {k: v[0] for k, v in query.items()}
                leaks.add(f"authorization code {n}", back.get("code"))
                with database.session() as db:
                    for row in db.scalars(select(OidcLoginState)):
                        leaks.add(f"PKCE verifier {row.state_hash[:8]}", row.code_verifier)
                return back

            def sign_in(back: dict[str, str]) -> str:
                signed_in = browser.post("/api/v1/auth/peeringdb/callback", json=back)
                assert signed_in.status_code == 200, signed_in.text
                csrf: str = signed_in.json()["csrf_token"]
                cookie = browser.cookies.get("ztix_session")
                leaks.add(f"PeeringDB user's session cookie {len(leaks.secrets)}", cookie)
                leaks.add(f"PeeringDB user's CSRF token {len(leaks.secrets)}", csrf)
                return csrf

            csrf = sign_in(authorize())
            browser.get("/api/v1/me")
            browser.get("/api/v1/admin/audit?limit=200")
            browser.get("/metrics")
            browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})

            # Failures, each a problem answer and a log line: a replayed state and code, a
            # refused code at the token endpoint, a userinfo 401 to our access token, an ID
            # token for another nonce.
            back = authorize()
            binding = browser.cookies.get("ztix_oidc_binding")
            sign_in(back)
            browser.cookies.set(
                "ztix_oidc_binding",
                str(binding),
                domain="testserver.local",
                path="/api/v1/auth/peeringdb",
            )
            replayed = browser.post("/api/v1/auth/peeringdb/callback", json=back)
            assert replayed.status_code >= 400
            fake.userinfo_fault = "unauthorized"
            assert browser.post("/api/v1/auth/peeringdb/callback", json=authorize()).is_error
            fake.userinfo_fault = None
            fake.id_token_fault = "wrong_nonce"
            assert browser.post("/api/v1/auth/peeringdb/callback", json=authorize()).is_error
            fake.id_token_fault = None
            fake.token_fault = "invalid_grant"
            assert browser.post("/api/v1/auth/peeringdb/callback", json=authorize()).is_error
        for i, token in enumerate(fake.issued_tokens):
            leaks.add(f"issued token {i}", token)
        assert len(fake.issued_tokens) >= 9  # access, refresh and ID token of 3 logins
    assert any("oidc" in line.lower() or "peeringdb" in line.lower() for line in leaks.logs.lines)
    leaks.assert_none()


def test_central_provisioning_leaks_nothing(leaks: Leaks, database: Database) -> None:
    token = secret("central-token")
    leaks.add("Central API token", token)
    with FakeCentral(token=token) as central:
        for net in NETWORKS:
            central.add_network(str(net["zt_network_id"]))
        settings = make_settings(
            database.url,
            zerotier={"provider": "central", "central": {"url": central.url, "token": token}},
            jobs={"retry": {"base_seconds": 0.05, "cap_seconds": 0.2, "max_attempts": 2}},
        )
        with database.session() as db:
            networks.sync_networks(db, audit.SYSTEM, settings.networks)
        admin_pw, member_pw = secret("adminpw"), secret("memberpw")
        leaks.add("admin password", admin_pw)
        leaks.add("member password", member_pw)
        create_user(database, "root", admin=True, password=admin_pw)
        create_user(database, "alice", asns=(213035,), password=member_pw)
        app = create_app(settings, database=database)
        # The admin works on the API's host: /metrics (loopback only) is read too.
        with TestClient(app, client=LOOPBACK) as admin, TestClient(app) as member:
            leaks.watch(admin)
            leaks.watch(member)
            admin_csrf = login(leaks, admin, "root", admin_pw)
            member_csrf = login(leaks, member, "alice", member_pw)

            def join(node: str) -> str:
                created = member.post(
                    "/api/v1/requests",
                    json={"asn": 213035, "zt_network_id": NWID, "node_id": node},
                    headers={"X-CSRF-Token": member_csrf},
                )
                assert created.status_code == 201, created.text
                rid = str(created.json()["id"])
                admin.post(
                    f"/api/v1/admin/requests/{rid}/approve", headers={"X-CSRF-Token": admin_csrf}
                )
                return rid

            first = join("abcdef0123")
            wait_for(
                "the request to be active", lambda: request_status(member, first) == "active", 20
            )
            central.token = secret("revoked")  # Central now answers 401 to our token
            second = join("abcdef0456")
            wait_for(
                "the job to end",
                lambda: request_status(member, second) not in ("approved", "provisioning"),
                20,
            )
            read_everything(admin, admin_csrf, [first, second])
            read_everything(member, member_csrf, [first, second])
    assert any("HTTP 401" in line for line in leaks.logs.lines), "the 401 path ran"
    leaks.assert_none()


def test_url_passwords_stay_hidden_when_the_database_and_broker_are_down(leaks: Leaks) -> None:
    password, broker_password = secret("dbpw"), secret("redispw")
    leaks.add("DATABASE_URL password", password)
    leaks.add("broker URL password", broker_password)
    url = f"postgresql://ztix:{password}@127.0.0.1:1/ztix"
    settings = make_settings(
        url,
        zerotier={"provider": "central"},
        jobs={"runner": "celery", "broker_url": f"redis://:{broker_password}@127.0.0.1:1/0"},
    )
    app = create_app(settings)
    app.state.readiness.ttl = 0
    # A probe on the API's host: it sees the checks' reasons and /metrics.
    with TestClient(app, raise_server_exceptions=False, client=LOOPBACK) as client:
        leaks.watch(client)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert not ready.json()["checks"]["broker"]["ok"]
        client.get("/metrics")
        client.post("/api/v1/auth/local/login", json={"username": "root", "password": "x" * 12})
        client.get("/api/v1/me")
    assert any("127.0.0.1" in line for line in leaks.logs.lines), "the failures were logged"
    leaks.assert_none()


def test_the_checker_finds_a_leak(leaks: Leaks) -> None:
    """The assertion itself works: a secret in a log line or in an answer is caught."""
    leaks.add("a secret", "planted-0123456789")
    logging.getLogger("ztix.anything").debug("token=%s", "planted-0123456789")
    leaks.answers.append(Answer("GET", "http://testserver/x", 200, [], "clean"))
    with pytest.raises(AssertionError, match="a secret in a log record"):
        leaks.assert_none()
    leaks.logs.lines.clear()
    leaks.logs.lines.append("clean")
    planted = Answer("GET", "http://testserver/y", 200, [("x-a", "planted-0123456789")], "")
    leaks.answers.append(planted)
    with pytest.raises(AssertionError, match="a secret in GET http://testserver/y"):
        leaks.assert_none()


class EchoingServer:
    """A ZeroTier API (or a proxy before it) that answers 401 and quotes the credential it
    was sent in its body, as some do: the adapters put the body in their error messages."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                sent = self.headers.get("X-ZT1-Auth") or self.headers.get("Authorization")
                body = json.dumps({"error": f"invalid credential {sent!r}"}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/health":  # open on a running zerotier-one, as on the real one
                    body = b'{"online": true}'
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def do_DELETE(self) -> None:
                self._answer()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("provider", ["controller", "central"])
def test_a_401_quoting_the_token_does_not_leak_it(
    leaks: Leaks, database: Database, provider: str
) -> None:
    token = secret(f"{provider}-token")
    leaks.add(f"{provider} token", token)
    echo = EchoingServer()
    try:
        conf = {"url": echo.url, "token": token, "timeout_seconds": 2}
        if provider == "controller":
            conf["token_file"] = None
        settings = make_settings(
            database.url,
            zerotier={"provider": provider, provider: conf},
            jobs={"retry": {"base_seconds": 0.05, "cap_seconds": 0.2, "max_attempts": 2}},
        )
        with database.session() as db:
            networks.sync_networks(db, audit.SYSTEM, settings.networks)
        create_user(database, "root", admin=True, password="correct horse battery staple")
        create_user(database, "alice", asns=(213035,), password="correct horse battery staple")
        app = create_app(settings, database=database)
        app.state.readiness.ttl = 0
        # The admin works on the API's host: /metrics (loopback only) is read too.
        with TestClient(app, client=LOOPBACK) as admin, TestClient(app) as member:
            leaks.watch(admin)
            leaks.watch(member)
            admin_csrf = login(leaks, admin, "root", "correct horse battery staple")
            member_csrf = login(leaks, member, "alice", "correct horse battery staple")
            created = member.post(
                "/api/v1/requests",
                json={"asn": 213035, "zt_network_id": NWID, "node_id": "abcdef0123"},
                headers={"X-CSRF-Token": member_csrf},
            )
            rid = str(created.json()["id"])
            admin.post(
                f"/api/v1/admin/requests/{rid}/approve", headers={"X-CSRF-Token": admin_csrf}
            )
            wait_for(
                "the job to end",
                lambda: request_status(member, rid) not in ("approved", "provisioning"),
                20,
            )
            read_everything(admin, admin_csrf, [rid])
            read_everything(member, member_csrf, [rid])
    finally:
        echo.close()
    # The controller adapter drops a 401's connection with its body unread (issue 13: the
    # real controller's next answer on it is an empty 400), so only Central's 401 body
    # reaches the error path; the controller's 401 must still have been met.
    seen = "invalid credential" if provider == "central" else "HTTP 401"
    assert any(seen in line for line in leaks.logs.lines), "the 401 ran"
    leaks.assert_none()
