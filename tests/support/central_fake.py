"""A local fake of ZeroTier Central's v1 API, enough to run the provider contract (DESIGN §4).

Real HTTP on a loopback port from a background thread, like ``api.zerotier.com/api/v1``:

- ``Authorization: token <t>`` (``bearer`` accepted too); anything else is 401;
- ``GET /network/{id}``, ``GET /network/{id}/member`` (a list of member objects),
  ``GET/POST/DELETE /network/{id}/member/{nodeId}``; a POST to an unseen node creates it;
  member settings live under ``config``, the name at the top level; ``config.revision``
  counts changes; wrong types are a 400 (Central is typed, unlike the controller);
- every answer carries ``X-Ratelimit-Limit/Remaining/Reset``; :meth:`FakeCentral.rate_limit_next`
  makes the next N requests a 429 with ``Retry-After`` (or only ``X-Ratelimit-Reset``).

Usage::

    with FakeCentral() as central:
        central.add_network("8056c2e21c000001")
        settings = CentralSettings(url=central.url, token=central.token)
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Json = dict[str, Any]

_MEMBER = re.compile(r"/api/v1/network/([0-9a-f]{16})/member/([0-9a-f]{10})")
_MEMBERS = re.compile(r"/api/v1/network/([0-9a-f]{16})/member")
_NETWORK = re.compile(r"/api/v1/network/([0-9a-f]{16})")
_CONFIG_TYPES: dict[str, type] = {
    "authorized": bool,
    "activeBridge": bool,
    "noAutoAssignIps": bool,
    "ipAssignments": list,
    "tags": list,
    "capabilities": list,
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    authorization: str | None
    body: Any


@dataclass
class _Knobs:
    rate_limit_count: int = 0
    retry_after: float = 2.0
    rate_limit_header: Literal["Retry-After", "X-Ratelimit-Reset"] = "Retry-After"
    error_count: int = 0
    error_status: int = 503


@dataclass
class FakeCentral:
    token: str = "central-test-token-0123456789"
    host: str = "127.0.0.1"
    networks: dict[str, Json] = field(default_factory=dict)
    members: dict[str, dict[str, Json]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    knobs: _Knobs = field(default_factory=_Knobs)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeCentral:
        fake = self

        class Handler(_Handler):
            central = fake

        server = ThreadingHTTPServer((self.host, 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            stopper = threading.Thread(target=self._server.shutdown, daemon=True)
            stopper.start()
            while stopper.is_alive():  # a connection wakes serve_forever's selector at once
                with contextlib.suppress(OSError):
                    socket.create_connection(self._server.server_address[:2], 0.1).close()
                stopper.join(0.01)
            self._server.server_close()
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeCentral:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("start the fake first")
        return f"http://{self.host}:{self._server.server_address[1]}/api/v1"

    # -- knobs -----------------------------------------------------------------------------

    def add_network(self, network_id: str, name: str = "") -> None:
        with self.lock:
            self.networks[network_id] = {
                "id": network_id,
                "type": "Network",
                "config": {"id": network_id, "name": name, "private": True, "mtu": 2800},
            }
            self.members.setdefault(network_id, {})

    def rate_limit_next(
        self,
        count: int,
        retry_after: float = 2.0,
        header: Literal["Retry-After", "X-Ratelimit-Reset"] = "Retry-After",
    ) -> None:
        with self.lock:
            self.knobs.rate_limit_count = count
            self.knobs.retry_after = retry_after
            self.knobs.rate_limit_header = header

    def fail_next(self, count: int, status: int = 503) -> None:
        with self.lock:
            self.knobs.error_count, self.knobs.error_status = count, status

    # -- behaviour (called from handler threads) ---------------------------------------------

    def handle(self, method: str, path: str, auth: str | None, body: Any) -> tuple[int, Any]:
        with self.lock:
            self.requests.append(RecordedRequest(method, path, auth, body))
            if self.knobs.rate_limit_count > 0:
                self.knobs.rate_limit_count -= 1
                return 429, {"message": "rate limit exceeded"}
            if self.knobs.error_count > 0:
                self.knobs.error_count -= 1
                return self.knobs.error_status, {"message": "injected"}
            scheme, _, token = (auth or "").partition(" ")
            if scheme.lower() not in ("token", "bearer") or token != self.token:
                return 401, {"message": "unauthorized"}
            if m := _MEMBER.fullmatch(path):
                return self._member(method, m.group(1), m.group(2), body)
            if (m := _MEMBERS.fullmatch(path)) and method == "GET":
                if m.group(1) not in self.networks:
                    return 404, {"message": "network not found"}
                return 200, list(self.members[m.group(1)].values())
            if (m := _NETWORK.fullmatch(path)) and method == "GET":
                network = self.networks.get(m.group(1))
                return (200, network) if network else (404, {"message": "network not found"})
            return 404, {"message": "not found"}

    def _member(self, method: str, nwid: str, node: str, body: Any) -> tuple[int, Any]:
        if nwid not in self.networks:
            return 404, {"message": "network not found"}
        members = self.members[nwid]
        if method == "GET":
            member = members.get(node)
            return (200, member) if member else (404, {"message": "member not found"})
        if method == "DELETE":
            return (200, {}) if members.pop(node, None) else (404, {"message": "not found"})
        if method != "POST":
            return 405, {"message": "method not allowed"}
        error = _validate(body)
        if error:
            return 400, {"message": error}
        member = members.get(node) or _new_member(nwid, node)
        before = json.dumps(member, sort_keys=True)
        member["config"].update(body.get("config", {}))
        for key in ("name", "description", "hidden"):
            if key in body:
                member[key] = body[key]
        if json.dumps(member, sort_keys=True) != before or node not in members:
            member["config"]["revision"] += 1
        members[node] = member
        return 200, member


def _validate(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be an object"
    config = body.get("config", {})
    if not isinstance(config, dict):
        return "config must be an object"
    for key, kind in _CONFIG_TYPES.items():
        if key in config and not isinstance(config[key], kind):
            return f"config.{key} has the wrong type"
    ips = config.get("ipAssignments", [])
    if not all(isinstance(ip, str) for ip in ips):
        return "config.ipAssignments must hold strings"
    if "name" in body and not isinstance(body["name"], str):
        return "name must be a string"
    return None


def _new_member(nwid: str, node: str) -> Json:
    now = int(time.time() * 1000)
    return {
        "id": f"{nwid}-{node}",
        "type": "Member",
        "clock": now,
        "networkId": nwid,
        "nodeId": node,
        "controllerId": nwid[:10],
        "hidden": False,
        "name": "",
        "description": "",
        "config": {
            "activeBridge": False,
            "authorized": False,
            "capabilities": [],
            "creationTime": now,
            "id": node,
            "identity": "",
            "ipAssignments": [],
            "lastAuthorizedTime": 0,
            "lastDeauthorizedTime": 0,
            "noAutoAssignIps": False,
            "revision": 0,
            "tags": [],
            "vMajor": -1,
            "vMinor": -1,
            "vRev": -1,
        },
        "lastOnline": 0,
        "physicalAddress": None,
        "clientVersion": "",
        "protocolVersion": 0,
        "supportsRulesEngine": False,
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else every keep-alive request waits ~40 ms
    central: FakeCentral

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            status, answer = 400, {"message": "invalid JSON"}
        else:
            status, answer = self.central.handle(
                self.command, self.path.split("?")[0], self.headers.get("Authorization"), body
            )
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        knobs = self.central.knobs
        self.send_header("X-Ratelimit-Limit", "20")
        self.send_header("X-Ratelimit-Remaining", "0" if status == 429 else "19")
        if status == 429:
            if knobs.rate_limit_header == "Retry-After":
                self.send_header("Retry-After", f"{knobs.retry_after:g}")
            self.send_header("X-Ratelimit-Reset", f"{time.time() + knobs.retry_after:.0f}")
        else:
            self.send_header("X-Ratelimit-Reset", f"{time.time() + 1:.0f}")
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(payload)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()
