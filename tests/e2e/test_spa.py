"""Serving the built web app next to the API (ztix.api.spa)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from ztix.api import problems, spa


def _client(dist: Path) -> TestClient:
    app = FastAPI()
    problems.install(app)

    @app.get("/api/v1/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    spa.install(app, dist)
    return TestClient(app)


def _build(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>ZT-IX app</title>")
    (dist / "assets" / "index-abc123.js").write_text("console.log('app')")
    (dist / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return dist


def test_client_routes_load_the_app(tmp_path: Path) -> None:
    client = _client(_build(tmp_path))
    for path in (
        "/",
        "/dashboard",
        "/requests/5f0c3a4e-0000-4000-8000-000000000001",
        "/auth/callback?code=x&state=y",
        "/admin/requests",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "ZT-IX app" in response.text
        assert response.headers["cache-control"] == "no-cache"
        assert "default-src 'self'" in response.headers["content-security-policy"]


def test_build_files_are_served_with_long_caching_for_hashed_assets(tmp_path: Path) -> None:
    client = _client(_build(tmp_path))
    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200
    assert asset.text == "console.log('app')"
    assert "immutable" in asset.headers["cache-control"]
    assert client.get("/favicon.svg").headers["cache-control"] == "no-cache"
    assert client.get("/assets/index-gone.js").status_code == 404


def test_the_api_is_never_shadowed(tmp_path: Path) -> None:
    client = _client(_build(tmp_path))
    assert client.get("/api/v1/ping").json() == {"pong": "yes"}
    missing = client.get("/api/v1/nope")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert client.get("/api").json()["code"] == "not_found"
    assert client.post("/api/v1/nope").json()["code"] == "not_found"


def test_nothing_outside_the_build_is_served(tmp_path: Path) -> None:
    client = _client(_build(tmp_path))
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        response = client.get(path)
        assert "outside the build" not in response.text, path


def test_an_unbuilt_app_says_how_to_build_it(tmp_path: Path) -> None:
    client = _client(tmp_path / "nothing-here")
    response = client.get("/dashboard")
    assert response.status_code == 503
    assert "make run" in response.text
