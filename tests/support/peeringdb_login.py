"""Helpers of the PeeringDB login tests: the SPA's two calls, and the browser's part at
PeeringDB played by httpx."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.testclient import TestClient

START = "/api/v1/auth/peeringdb/start"
CALLBACK = "/api/v1/auth/peeringdb/callback"


def authorize(client: TestClient) -> dict[str, str]:
    """Start a login and play the browser at PeeringDB: return what comes back."""
    response = client.post(START)
    assert response.status_code == 200, response.text
    url = response.json()["authorize_url"]
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == ["openid profile email networks"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["response_type"] == ["code"]
    redirect = httpx.get(url, follow_redirects=False)
    assert redirect.status_code == 302
    back = parse_qs(urlsplit(redirect.headers["location"]).query)
    return {k: v[0] for k, v in back.items()}
