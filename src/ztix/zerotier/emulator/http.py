"""The emulator's HTTP surface: auth, routing, fault injection and the API's routes."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import re
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ztix.zerotier.emulator.core import EmulatorState
from ztix.zerotier.emulator.records import (
    API_VERSION,
    HEX10,
    HEX16,
    VERSION,
    Json,
    ServerError,
    apply_member_post,
    apply_network_post,
    json_int,
    now_ms,
)
from ztix.zerotier.emulator.state import (
    copy_record,
    dump,
)

log = logging.getLogger(__name__)

# -- HTTP ------------------------------------------------------------------------------------


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        emulator: EmulatorState,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def stop_serving(self) -> None:
        """shutdown(), without waiting up to a poll interval for the loop to notice."""
        stopper = threading.Thread(target=self.shutdown, daemon=True)
        stopper.start()
        host, port = str(self.server_address[0]), int(self.server_address[1])
        while stopper.is_alive():
            # A connection wakes the selector, which then sees the shutdown request.
            with contextlib.suppress(OSError), socket.create_connection((host, port), 0.1):
                pass
            stopper.join(0.01)

    def close_connections(self) -> None:
        # Idle keep-alive connections would otherwise keep their threads blocked in recv().
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _HttpError(Exception):
    def __init__(self, status: int, body: Any = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


_ROUTES: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(pattern))
    for name, pattern in [
        ("status", r"/status"),
        ("health", r"/health"),
        ("controller", r"/controller"),
        ("network_list", r"/controller/network"),
        ("network_list2", r"/unstable/controller/network"),
        ("network", rf"/controller/network/({HEX16})"),
        ("network_create_old", rf"/controller/network/({HEX10})______"),
        ("member_list", rf"/controller/network/({HEX16})/member"),
        ("member_list2", rf"/unstable/controller/network/({HEX16})/member"),
        ("member", rf"/controller/network/({HEX16})/member/({HEX10})"),
    ]
]
_NO_DATABASE_ROUTES = {"status", "health", "controller"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like cpp-httplib
    # Headers and body go out in two writes; with Nagle on, a keep-alive client waits for
    # its delayed ACK (~40 ms) on every request.
    disable_nagle_algorithm = True
    server_version = "libzt"
    sys_version = ""
    server: Server
    _refused_with_body = False  # per connection: one handler object serves its requests

    def log_message(self, format: str, *args: Any) -> None:
        # The path may carry ?auth=<token>: never log it.
        log.debug("%s %s", self.command, urlsplit(self.path).path)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # -- plumbing ------------------------------------------------------------------------

    @property
    def emulator(self) -> EmulatorState:
        return self.server.emulator

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: Any = None) -> None:
        payload = b"" if body is None else _dump_any(body).encode()
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _drop(self) -> None:
        # SO_LINGER 0 turns close() into a TCP reset: the client sees no answer at all.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        self.close_connection = True

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query)
        body = self._body()
        if self._refused_with_body:
            # The real controller's quirk (see ControllerEmulator.empty_400_after_401).
            self._refused_with_body = False
            self._send(400)
            return
        try:
            if path == "/_emulator/faults":
                self._require_auth(query, body)
                self._send(200, self._faults(body))
                return
            fault, latency, error_status = self.emulator.take_fault()
            if latency > 0:
                time.sleep(latency)
            if fault == "drop_count":
                self._drop()
                return
            if fault == "timeout_count":
                self.emulator.hang()
                self._drop()
                return
            if fault == "error_count":
                self._send(error_status, {"error": error_status, "description": "injected"})
                return
            if path != "/health" or self.emulator.shutting_down:
                self._require_auth(query, body)
            self._send(200, self._route(path, body))
        except _HttpError as exc:
            self._send(exc.status, exc.body)
        except ServerError as exc:
            self._send(500, {"error": 500, "description": str(exc)})
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.EBADF):
                raise
        except Exception as exc:
            # OneService's exception handler: any exception in a route is a 500.
            log.exception("emulator route failed")
            self._send(500, {"error": 500, "description": f"{type(exc).__name__}: {exc}"})

    def _require_auth(self, query: dict[str, list[str]], body: bytes) -> None:
        if self.emulator.shutting_down or not self.emulator.authorized(
            self.headers, query, self.client_address[0]
        ):
            self._refused_with_body = bool(body) and self.emulator.empty_400_after_401
            raise _HttpError(401, {})

    def _faults(self, body: bytes) -> Json:
        if self.command == "POST":
            try:
                data = json.loads(body or b"{}")
                if not isinstance(data, dict):
                    raise ValueError("expected an object")
                self.emulator.configure(data)
            except ValueError as exc:
                raise _HttpError(400, {"error": str(exc)}) from exc
        elif self.command != "GET":
            raise _HttpError(404)
        return self.emulator.fault_state()

    def _route(self, path: str, body: bytes) -> Any:
        for name, pattern in _ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            handler = getattr(self, f"_{name}_{self.command.lower()}", None)
            if handler is None:
                raise _HttpError(404)
            # The real controller blocks in DB::waitForReady(); answering 503 is kinder.
            if name not in _NO_DATABASE_ROUTES and not self.emulator.database_ready:
                raise _HttpError(503, {})
            # IDs are parsed as hex numbers, except the address of the old create route,
            # which is compared as a string with the controller's (lower-case) address.
            args = [g if name == "network_create_old" else g.lower() for g in match.groups()]
            return handler(*args, body) if self.command in ("POST", "PUT") else handler(*args)
        raise _HttpError(404)

    # -- routes --------------------------------------------------------------------------

    def _status_get(self) -> Json:
        emu = self.emulator
        major, minor, rev = VERSION
        return {
            "address": emu.address,
            "publicIdentity": (emu.home / "identity.public").read_text(encoding="ascii"),
            "online": True,
            "tcpFallbackActive": False,
            "versionMajor": major,
            "versionMinor": minor,
            "versionRev": rev,
            "versionBuild": 0,
            "version": f"{major}.{minor}.{rev}",
            "clock": now_ms(),
            "config": {"settings": {"primaryPort": emu.port, "homeDir": str(emu.home)}},
            "planetWorldId": 149604618,
            "planetWorldTimestamp": 1644592324813,
        }

    def _health_get(self) -> Json:
        major, minor, rev = VERSION
        return {"online": True, "version": f"{major}.{minor}.{rev}", "clock": now_ms()}

    def _controller_get(self) -> Json:
        ready = self.emulator.database_ready
        body = {"controller": True, "apiVersion": API_VERSION, "clock": now_ms()}
        body["databaseReady"] = ready
        if not ready:
            raise _HttpError(503, body)
        return body

    def _network_list_get(self) -> list[str]:
        with self.emulator.lock:
            return sorted(self.emulator.store.networks)

    def _network_list2_get(self) -> Json:
        with self.emulator.lock:
            store = self.emulator.store
            data = []
            for nwid in sorted(store.networks):
                members = store.members.get(nwid, {}).values()
                network = dict(store.networks[nwid])
                network["meta"] = {
                    "totalMemberCount": len(members),
                    "authorizedMemberCount": sum(1 for m in members if m.get("authorized")),
                }
                data.append(network)
            return {"data": data, "meta": {"networkCount": len(data)}}

    def _create(self, nwid: str | None, body: bytes) -> Json:
        if nwid is None:
            raise _HttpError(503)
        return self._update_network(nwid, body)

    def _network_list_post(self, body: bytes) -> Json:
        with self.emulator.lock:
            return self._create(self.emulator.new_network_id(self.emulator.address), body)

    _network_list_put = _network_list_post

    def _network_create_old_post(self, address: str, body: bytes) -> Json:
        if address != self.emulator.address:
            raise _HttpError(400)
        return self._network_list_post(body)

    _network_create_old_put = _network_create_old_post

    def _network_get(self, nwid: str) -> Json:
        with self.emulator.lock:
            network = self.emulator.store.networks.get(nwid)
            if network is None:
                raise _HttpError(404)
            return network

    def _update_network(self, nwid: str, body: bytes) -> Json:
        parsed = _parse_body(body)
        with self.emulator.lock:
            network = copy_record(self.emulator.store.networks.get(nwid) or {})
            apply_network_post(network, parsed, nwid)
            self.emulator.store.save_network(network)
            return network

    _network_post = _update_network
    _network_put = _update_network

    def _network_delete(self, nwid: str) -> Json:
        with self.emulator.lock:
            network = self._network_get(nwid)
            self.emulator.store.erase_network(nwid)
            return network

    def _members_of(self, nwid: str) -> dict[str, Json]:
        if nwid not in self.emulator.store.networks:
            raise _HttpError(404)
        return self.emulator.store.members.get(nwid, {})

    def _member_list_get(self, nwid: str) -> Any:
        with self.emulator.lock:
            members = self._members_of(nwid)
            revisions = {mid: json_int(m.get("revision"), 0) for mid, m in members.items()}
            if self.emulator.member_list_shape == "list":
                return [{mid: rev} for mid, rev in sorted(revisions.items())]
            return revisions

    def _member_list2_get(self, nwid: str) -> Json:
        with self.emulator.lock:
            members = list(self._members_of(nwid).values())
            meta = {
                "totalCount": len(members),
                "authorizedCount": sum(1 for m in members if m.get("authorized")),
            }
            return {"data": members, "meta": meta}

    def _member_get(self, nwid: str, mid: str) -> Json:
        with self.emulator.lock:
            member = self._members_of(nwid).get(mid)
            if member is None:
                raise _HttpError(404)
            return member

    def _member_post(self, nwid: str, mid: str, body: bytes) -> Json:
        with self.emulator.lock:
            if nwid not in self.emulator.store.networks:
                raise _HttpError(404)  # checked before the body is parsed
            parsed = _parse_body(body)
            member = copy_record(self.emulator.store.members.get(nwid, {}).get(mid) or {})
            apply_member_post(member, parsed, nwid, mid)
            self.emulator.alter_member(member)
            self.emulator.store.save_member(member)
            return member

    _member_put = _member_post

    def _member_delete(self, nwid: str, mid: str) -> Json:
        with self.emulator.lock:
            member = self._member_get(nwid, mid)
            self.emulator.store.erase_member(nwid, mid)
            return member


def _parse_body(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        # nlohmann::json::parse throws; the exception handler answers 500.
        raise ServerError(f"[json.exception.parse_error.101] parse error: {exc}") from exc


def _dump_any(body: Any) -> str:
    if isinstance(body, dict):
        return dump(body)
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


# -- the emulator ------------------------------------------------------------------------------


class ControllerEmulator(EmulatorState):
    """A zerotier-one 1.14 controller API on ``host:port`` with its state in ``home``.

    The identity, token and stored networks are loaded (or created) in the constructor, so
    :attr:`address` and :attr:`token` are known before :meth:`start`.
    """

    _server: Server | None = None
    _thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> ControllerEmulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = Server((self.host, self._port), Handler, self)
        self._port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name=f"zt-emulator-{self._port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()  # release requests held by the timeout fault
        server.stop_serving()
        server.close_connections()
        server.server_close()
        thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> ControllerEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def run_forever(self) -> None:
        """Serve until interrupted (Ctrl-C); for the CLI and ``python -m``."""
        self.start()
        print(f"ZeroTier controller emulator {self.address} on {self.url}", flush=True)
        print(f"token in {self.home / 'authtoken.secret'}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("start the emulator first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"
