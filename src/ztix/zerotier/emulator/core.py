"""The emulator's state: identity, token, stored records, knobs and the rules the HTTP
handlers apply (auth, faults, network IDs)."""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
import threading
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ztix.zerotier.emulator.records import (
    Json,
    MemberListShape,
)
from ztix.zerotier.emulator.state import (
    FAULT_TYPES,
    Faults,
    Store,
    copy_record,
    load_identity,
    load_token,
    write_atomic,
)

log = logging.getLogger(__name__)

# -- the emulator ----------------------------------------------------------------------------


class EmulatorState:
    """An emulated controller's state, knobs and request-handling rules; the HTTP server
    around it is :class:`ztix.zerotier.emulator.http.ControllerEmulator`."""

    def __init__(
        self,
        home: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        *,
        member_list_shape: MemberListShape = "map",
        allow_management_from: Sequence[str] = (),
        empty_400_after_401: bool = True,
    ) -> None:
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.host = host
        self._port = port
        self.address = load_identity(self.home)
        self._token = load_token(self.home, token)
        self.member_list_shape: MemberListShape = member_list_shape
        self.allow_management_from = [ipaddress.ip_network(n) for n in allow_management_from]
        self.database_ready = True
        # zerotier-one 1.14.1: after a 401 to a request with a body, the next request on the
        # same keep-alive connection gets 400 with an empty body.
        self.empty_400_after_401 = empty_400_after_401
        # zerotier-one 1.14.1 while it shuts down: 401 to everything, /health too.
        self.shutting_down = False
        self.faults = Faults()
        self.lock = threading.RLock()
        self.store = Store(self.home / "controller.d")
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        return self._port

    @property
    def token(self) -> str:
        return self._token

    def set_token(self, token: str) -> None:
        """Rotate the API token (rewrites ``authtoken.secret``), as a restart with a new file."""
        with self.lock:
            write_atomic(self.home / "authtoken.secret", token, mode=0o600)
            self._token = token

    # -- knobs -------------------------------------------------------------------------

    def set_database_ready(self, ready: bool) -> None:
        with self.lock:
            self.database_ready = ready

    def set_shutting_down(self, shutting_down: bool) -> None:
        """Answer as zerotier-one does between SIGTERM and exit: 401 to every call."""
        with self.lock:
            self.shutting_down = shutting_down

    def set_latency(self, seconds: float) -> None:
        with self.lock:
            self.faults.latency = seconds

    def fail_next(self, count: int, status: int = 503) -> None:
        with self.lock:
            self.faults.error_count, self.faults.error_status = count, status

    def time_out_next(self, count: int, hang_seconds: float | None = None) -> None:
        with self.lock:
            self.faults.timeout_count = count
            if hang_seconds is not None:
                self.faults.hang_seconds = hang_seconds

    def drop_next(self, count: int) -> None:
        with self.lock:
            self.faults.drop_count = count

    def alter_next_member_writes(self, count: int, **fields: Any) -> None:
        """Overwrite ``fields`` of the next ``count`` member POSTs after coercion."""
        with self.lock:
            self.faults.alter_count, self.faults.alter_fields = count, dict(fields)

    def reset_faults(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.database_ready = True
            self.shutting_down = False

    def fault_state(self) -> Json:
        with self.lock:
            state = asdict(self.faults)
            state["database_ready"] = self.database_ready
            state["member_list_shape"] = self.member_list_shape
            return state

    def configure(self, body: Json) -> None:
        """Apply an admin request body; raises ValueError naming a bad key."""
        with self.lock:
            if body.get("reset") is True:
                self.reset_faults()
            for key, value in body.items():
                if key == "reset":
                    continue
                if key == "database_ready" and isinstance(value, bool):
                    self.database_ready = value
                elif key == "member_list_shape" and value in ("map", "list"):
                    self.member_list_shape = value
                elif key in FAULT_TYPES and isinstance(value, FAULT_TYPES[key]):
                    if isinstance(value, bool):
                        raise ValueError(f"{key}: expected a number")
                    setattr(self.faults, key, value)
                else:
                    raise ValueError(f"{key}: unknown knob or wrong type")

    # -- read-only views for tests ---------------------------------------------------------

    def network(self, nwid: str) -> Json | None:
        with self.lock:
            network = self.store.networks.get(nwid)
            return copy_record(network) if network else None

    def member(self, nwid: str, node_id: str) -> Json | None:
        with self.lock:
            member = self.store.members.get(nwid, {}).get(node_id)
            return copy_record(member) if member else None

    # -- request handling (called from handler threads) --------------------------------------

    def take_fault(self) -> tuple[str | None, float, int]:
        with self.lock:
            return self.faults.take(), self.faults.latency, self.faults.error_status

    def hang(self) -> None:
        with self.lock:
            seconds = self.faults.hang_seconds
        self._stopping.wait(seconds)

    def authorized(self, headers: Any, query: dict[str, list[str]], peer: str) -> bool:
        address = ipaddress.ip_address(peer.split("%")[0])
        mapped = getattr(address, "ipv4_mapped", None)
        if mapped is not None:
            address = mapped
        if not address.is_loopback and not any(
            address in net for net in self.allow_management_from
        ):
            return False
        # Only the first credential present counts, as in OneService's authCheck.
        if headers.get("X-ZT1-Auth") is not None:
            return self._is_token(headers["X-ZT1-Auth"])
        if "auth" in query:
            return self._is_token(query["auth"][0])
        bearer = headers.get("Authorization")
        if bearer is not None:
            scheme, _, value = bearer.partition(" ")
            return scheme.lower() == "bearer" and self._is_token(value.strip())
        return False

    def _is_token(self, candidate: str) -> bool:
        given = candidate.encode("utf-8", "replace")
        return secrets.compare_digest(given, self._token.encode("utf-8"))

    def alter_member(self, member: Json) -> None:
        with self.lock:
            if self.faults.alter_count > 0:
                self.faults.alter_count -= 1
                member.update(json.loads(json.dumps(self.faults.alter_fields)))

    def new_network_id(self, address: str) -> str | None:
        for _ in range(100000):
            suffix = secrets.randbits(24) or 1
            nwid = f"{address}{suffix:06x}"
            if nwid not in self.store.networks:
                return nwid
        return None
