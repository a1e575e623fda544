"""ZT-IX's public HTTP API, used as a person uses the web app: log in, file a request,
approve it, read it back."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from ztix.lab.netns import LabError

T = TypeVar("T")


class ApiSession:
    """One logged-in user: the session cookie, and the CSRF token sent on every write."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=30)
        reply = self._http.post(
            "/api/v1/auth/local/login", json={"username": username, "password": password}
        )
        if reply.status_code != 200:
            raise LabError(f"login as {username}: {reply.status_code} {reply.text}")
        self._csrf = str(reply.json()["csrf_token"])
        self.username = username

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, **params: Any) -> Any:
        reply = self._http.get(path, params=params)
        if reply.status_code != 200:
            raise LabError(f"GET {path} as {self.username}: {reply.status_code} {reply.text}")
        return reply.json()

    def post(self, path: str, body: Any = None) -> Any:
        reply = self._http.post(path, json=body, headers={"X-CSRF-Token": self._csrf})
        if reply.status_code not in (200, 201):
            raise LabError(f"POST {path} as {self.username}: {reply.status_code} {reply.text}")
        return reply.json()


def network_id(member: ApiSession, name: str) -> str:
    """The IX network's full ID, as the onboarding page offers it."""
    context = member.get("/api/v1/onboarding/context")
    for network in context["networks"]:
        if network["name"] == name:
            return str(network["zt_network_id"])
    raise LabError(f"network {name!r} is not offered to {member.username}")


def wait_until(what: str, probe: Callable[[], T | None], timeout: float, every: float = 0.5) -> T:
    """Poll ``probe`` until it returns something truthy; raise LabError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise LabError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(every)
