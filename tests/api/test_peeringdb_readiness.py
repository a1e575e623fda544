"""PeeringDB login's discovery and key set are fetched and validated at start-up and cached;
a wrong discovery URL is reported at start-up and in /readyz as a named, non-fatal check
(issue 13): logins fail, provisioning goes on, ZT-IX stays ready."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.app import LOOPBACK, AppFactory, make_settings
from tests.support.oidc_provider import FakePeeringDB
from tests.support.services import free_port
from tests.support.waiting import wait_for
from ztix.api.app import create_app
from ztix.db.session import Database

START = "/api/v1/auth/peeringdb/start"
CENTRAL = {"provider": "central"}


@pytest.fixture(scope="module")
def provider() -> Iterator[FakePeeringDB]:
    with FakePeeringDB() as fake:
        yield fake


def _readyz(client: TestClient) -> Any:
    """/readyz as the operator's probe on this host sees it: check names and reasons are
    shown to loopback clients only (and to admins)."""
    return TestClient(client.app, client=LOOPBACK).get("/readyz")


def _wrong_url() -> str:
    return f"http://127.0.0.1:{free_port()}/oauth2/.well-known/openid-configuration"


def test_a_wrong_discovery_url_is_a_named_non_fatal_check(
    make_client: AppFactory, provider: FakePeeringDB
) -> None:
    wrong = _wrong_url()
    # Central: no self-hosted controller to check, so PeeringDB is the only failing check.
    client = make_client(peeringdb=provider.config(discovery_url=wrong), zerotier=CENTRAL)
    response = _readyz(client)
    assert response.status_code == 200, response.text  # still ready: provisioning goes on
    body = response.json()
    assert body["status"] == "ready"
    check = body["checks"]["peeringdb_login"]
    assert check["ok"] is False and check["fatal"] is False
    assert check["reason"].startswith(f"PeeringDB login unavailable: {wrong}")
    login = client.post(START)  # logins fail, as before, with the same cause
    assert (login.status_code, login.json()["code"]) == (502, "provider_unavailable")


def test_a_good_provider_is_fetched_once_and_cached(
    make_client: AppFactory, provider: FakePeeringDB
) -> None:
    provider.reset()
    client = make_client(peeringdb=provider.config())
    check = _readyz(client).json()["checks"]["peeringdb_login"]
    assert check == {
        "ok": True,
        "reason": "discovery document and key set fetched",
        "fatal": False,
    }
    app_client = client.app.state.peeringdb  # type: ignore[attr-defined]
    metadata = app_client.discover()
    assert app_client.discover() is metadata  # cached, not fetched per login
    assert client.post(START).status_code == 200


def test_start_up_reports_a_wrong_discovery_url(
    database: Database, provider: FakePeeringDB, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = _wrong_url()
    settings = make_settings(database.url, peeringdb=provider.config(discovery_url=wrong))
    caplog.set_level(logging.INFO, logger="ztix.api.app")
    with TestClient(create_app(settings, database=database)):
        record = wait_for(
            "the start-up PeeringDB check",
            lambda: next(
                (r for r in caplog.records if "PeeringDB login unavailable" in r.getMessage()),
                None,
            ),
            timeout=15,
        )
    assert record.levelno == logging.ERROR
    assert wrong in record.getMessage() and "logins will fail" in record.getMessage()


def test_start_up_with_a_good_provider_says_so(
    database: Database, provider: FakePeeringDB, caplog: pytest.LogCaptureFixture
) -> None:
    provider.reset()
    settings = make_settings(database.url, peeringdb=provider.config())
    caplog.set_level(logging.INFO, logger="ztix.api.app")
    with TestClient(create_app(settings, database=database)) as client:
        wait_for(
            "the start-up PeeringDB check",
            lambda: any("PeeringDB login ready" in r.getMessage() for r in caplog.records),
            timeout=15,
        )
        assert client.app.state.peeringdb.check() is None  # type: ignore[attr-defined]
