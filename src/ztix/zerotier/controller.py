"""The self-hosted zerotier-one controller API (DESIGN §4), as a :class:`ZeroTierProvider`.

Every request carries ``X-ZT1-Auth``. The token is given directly or read from
``authtoken.secret``; :meth:`ControllerProvider.reload_token` re-reads that file and swaps the
token only after the controller has accepted it. The token is never logged and never part of
an error message.

Bodies are strictly typed and every write is read back: the controller coerces wrong types
silently (``"authorized": "yes"`` stores false), so only the read-back counts. Status mapping:
401/403 auth failed (after the re-read and retry of :meth:`ControllerProvider._send`; a 401
from a controller that is shutting down is unavailable); 404 not found; 400 and 500 (the
controller's answer to a body it cannot parse) rejected; 429 rate limited; other 5xx, timeouts
and connection failures unavailable.

Besides the provider protocol this adapter has the network- and status-level calls the
controller lifecycle needs (``status``, ``controller_status``, ``*_network``, raw members).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ztix.config import ControllerConfig, NetworkConfig
from ztix.domain.controller import (
    BackupReport,
    Check,
    DriftReport,
    Expected,
    NetworkOutcome,
    PreflightReport,
)
from ztix.zerotier.members import (
    NODE_ID,
    MemberSync,
    check_ids,
    excerpt,
    exchange,
    member_from_config,
    parse_member_list,
    read_json,
    retry_after_seconds,
)
from ztix.zerotier.provider import (
    SYSTEM_CONTROLLER,
    Member,
    ProviderAuthFailed,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)

log = logging.getLogger(__name__)

# Calls one request may make when refused with 401: the first, one more on a fresh connection
# (the token re-read), and more only while the token file keeps changing under it.
TOKEN_TRIES = 4


class ControllerSettings(BaseModel):
    """How to reach one controller. Give ``token`` or ``token_file`` (or both: the file is
    what :meth:`ControllerProvider.reload_token` re-reads)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "http://127.0.0.1:9993"
    token: SecretStr | None = None
    token_file: Path | None = None
    timeout_seconds: float = Field(10.0, gt=0)

    @classmethod
    def from_config(cls, conf: ControllerConfig) -> ControllerSettings:
        """The adapter's settings from its config section (an empty token: use the file)."""
        return cls(
            url=conf.url,
            token=conf.token if conf.token.get_secret_value() else None,
            token_file=conf.token_file,
            timeout_seconds=conf.timeout_seconds,
        )


@dataclass(frozen=True)
class NodeStatus:
    """``GET /status``."""

    address: str
    version: str
    online: bool


@dataclass(frozen=True)
class ControllerStatus:
    """``GET /controller``; ``controller`` is False on a node that runs no controller."""

    controller: bool
    api_version: int | None
    database_ready: bool


# -- the adapter -------------------------------------------------------------------------------


class ControllerProvider(MemberSync):
    """Members (and networks) on one self-hosted zerotier-one controller."""

    system = SYSTEM_CONTROLLER

    def __init__(
        self, settings: ControllerSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        if settings.token is None and settings.token_file is None:
            raise ValueError("a controller token or token file is required")
        self._settings = settings
        self._token_lock = threading.Lock()
        self._token = (
            settings.token.get_secret_value() if settings.token else self._read_token_file()
        )
        self._client = httpx.Client(
            base_url=settings.url.rstrip("/"),
            timeout=settings.timeout_seconds,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ControllerProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- token ---------------------------------------------------------------------------

    def _read_token_file(self) -> str:
        path = self._settings.token_file
        if path is None:
            raise ProviderError("no controller token file is configured", system=self.system)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ProviderAuthFailed(
                f"cannot read the controller token file {path}: {exc.strerror}",
                system=self.system,
            ) from None
        if not token:
            raise ProviderAuthFailed(
                f"the controller token file {path} is empty", system=self.system
            )
        return token

    def reload_token(self) -> None:
        """Re-read the token file, check the new token against ``/status``, then swap it in.

        On any failure the old token stays in use and the error is raised.
        """
        candidate = self._read_token_file()
        response = self._send("GET", "/status", token=candidate)
        self._raise_for_status(response, "GET /status (token check)")
        self._use_token(candidate)

    def _use_token(self, token: str) -> None:
        with self._token_lock:
            changed, self._token = token != self._token, token
        if changed:
            log.info("controller token reloaded from %s", self._settings.token_file)

    # -- HTTP ----------------------------------------------------------------------------

    def _send(
        self, method: str, path: str, *, body: Any = None, token: str | None = None
    ) -> httpx.Response:
        """One call, and what a 401 means.

        After a 401 the connection is dropped (see :meth:`_request`) and the call is made
        once more on a fresh connection, with the token file read again when the token comes
        from it (it may have rotated; a configured ``token`` wins over the file, as at
        start); a token that works there replaces the old one. While each refused token is
        no longer the file's (it rotated again during the round trip), the newest one is
        tried, up to :data:`TOKEN_TRIES` calls in all. A 401 that stands is checked
        against the open ``/health``: zerotier-one 1.14.1 refuses every call, ``/health``
        too, while it shuts down (for up to its 5 s keep-alive), so then the controller is
        unavailable, not the token wrong.
        """
        checking = token is not None  # a candidate token (reload_token): no other one
        if token is None:
            with self._token_lock:
                token = self._token
        response = self._exchange(method, path, body, token)
        if response.status_code == 401 and not checking:
            refused: str | None = None
            for _ in range(TOKEN_TRIES - 1):
                candidate = token if self._settings.token else self._read_token_file()
                if candidate == refused:
                    break  # the source holds the token just refused: it stands
                response = self._exchange(method, path, body, candidate)
                if response.status_code != 401:
                    if candidate != token:
                        self._use_token(candidate)
                    break
                refused = candidate
        if (
            response.status_code == 401
            and self._exchange("GET", "/health", None, token).status_code == 401
        ):
            raise ProviderUnavailable(
                f"{method} {path}: the controller refuses every call, /health too "
                "(it is shutting down)",
                system=self.system,
            )
        return response

    def _exchange(self, method: str, path: str, body: Any, token: str) -> httpx.Response:
        return exchange(
            "controller",
            self.system,
            self._settings.timeout_seconds,
            method,
            path,
            lambda: self._request(method, path, body, token),
        )

    def _request(self, method: str, path: str, body: Any, token: str) -> httpx.Response:
        """Send and read one request. A 401's connection is closed while this thread still
        holds it, so the pool never hands it out again: after refusing a request with a
        body, zerotier-one 1.14.1 answers the next request on that connection with an empty
        400, which would read as a rejection of a perfectly good call."""
        request = self._client.build_request(method, path, json=body, headers={"X-ZT1-Auth": token})
        response = self._client.send(request, stream=True)
        try:
            if response.status_code == 401:
                stream = response.extensions.get("network_stream")
                if stream is not None:
                    stream.close()
                # Its body ("{}") stays unread: closing an unread response closes the
                # connection too, whatever the transport.
                return httpx.Response(401, request=request)
            response.read()
            return response
        finally:
            response.close()

    def _raise_for_status(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status < 300:
            return
        message = f"{what}: HTTP {status} {excerpt(response)}".rstrip()
        if status in (401, 403):
            raise ProviderAuthFailed(message, system=self.system)
        if status == 404:
            raise ProviderNotFound(message, system=self.system)
        if status == 429:
            retry_after = retry_after_seconds(response.headers)
            raise ProviderRateLimited(message, system=self.system, retry_after=retry_after)
        if status == 500 or 400 <= status < 500:
            # The controller answers 500 to a body it cannot parse: retrying cannot help.
            raise ProviderRejected(message, system=self.system)
        raise ProviderUnavailable(message, system=self.system)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._send(method, path, body=body)
        what = f"{method} {path}"
        self._raise_for_status(response, what)
        return read_json(response, what, self.system)

    def _get_or_none(self, path: str) -> Any | None:
        response = self._send("GET", path)
        if response.status_code == 404:
            return None
        self._raise_for_status(response, f"GET {path}")
        return read_json(response, f"GET {path}", self.system)

    def _network_missing(self, network_id: str) -> ProviderNotFound:
        return ProviderNotFound(f"network {network_id} does not exist", system=self.system)

    def _require_network(self, network_id: str) -> None:
        if self._get_or_none(f"/controller/network/{network_id}") is None:
            raise self._network_missing(network_id)

    # -- status ----------------------------------------------------------------------------

    # -- the lifecycle port (workflow.ports.ControllerLifecycle) -----------------------------
    # The work is in checks.py, archive.py and drift.py, which import this module.

    def check_ready(self, networks: Sequence[NetworkConfig]) -> list[Check]:
        from ztix.zerotier import checks

        return checks.check_ready(networks, self)

    def preflight(self, networks: Sequence[NetworkConfig]) -> PreflightReport:
        from ztix.zerotier import checks

        return checks.preflight_checks(networks, self)

    def reconcile_network(self, network: NetworkConfig, address: str) -> NetworkOutcome:
        from ztix.zerotier import checks

        return checks.reconcile_network(self, network, address)

    def backup(self, home: Path | None, dest_dir: Path, keep: int) -> BackupReport:
        from ztix.zerotier import archive

        return archive.backup(self, home, dest_dir, keep)

    def drift(
        self,
        networks: Sequence[NetworkConfig],
        expected: Expected,
        known_extra_nodes: Set[str] = frozenset(),
    ) -> DriftReport:
        from ztix.zerotier import drift

        return drift.drift_report(networks, self, expected, known_extra_nodes)

    def status(self) -> NodeStatus:
        data = self._call("GET", "/status")
        address = data.get("address") if isinstance(data, dict) else None
        if not isinstance(address, str) or not NODE_ID.fullmatch(address):
            raise ProviderRejected(
                "GET /status: no controller address in answer", system=self.system
            )
        return NodeStatus(
            address=address,
            version=str(data.get("version", "")),
            online=data.get("online") is True,
        )

    def controller_status(self) -> ControllerStatus:
        """``GET /controller``; 503 means the database is not ready (not an error here)."""
        response = self._send("GET", "/controller")
        if response.status_code == 404:
            return ControllerStatus(controller=False, api_version=None, database_ready=False)
        if response.status_code != 503:
            self._raise_for_status(response, "GET /controller")
        try:
            data = response.json()
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        api_version = data.get("apiVersion")
        return ControllerStatus(
            controller=data.get("controller", response.status_code == 503) is True,
            api_version=api_version if isinstance(api_version, int) else None,
            database_ready=response.status_code == 200 and data.get("databaseReady") is True,
        )

    # -- networks --------------------------------------------------------------------------

    def list_networks(self) -> list[str]:
        data = self._call("GET", "/controller/network")
        if not isinstance(data, list) or not all(isinstance(n, str) for n in data):
            raise ProviderRejected("GET /controller/network: not a list of IDs", system=self.system)
        return sorted(n.lower() for n in data)

    def get_network(self, network_id: str) -> dict[str, Any]:
        check_ids(self.system, network_id)
        data = self._get_or_none(f"/controller/network/{network_id}")
        if data is None:
            raise self._network_missing(network_id)
        return _object(data, f"network {network_id}", self.system)

    def set_network(self, network_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create or update a network; returns it as read back (compare it yourself)."""
        check_ids(self.system, network_id)
        self._call("POST", f"/controller/network/{network_id}", body)
        return self.get_network(network_id)

    def create_network(self, body: dict[str, Any]) -> dict[str, Any]:
        """A new network with a random suffix under this controller's address."""
        address = self.status().address
        created = _object(
            self._call("POST", f"/controller/network/{address}______", body),
            "created network",
            self.system,
        )
        network_id = created.get("id")
        if not isinstance(network_id, str):
            raise ProviderRejected("created network has no ID", system=self.system)
        return self.get_network(network_id)

    def delete_network(self, network_id: str) -> bool:
        """Delete a network and its members; False when it did not exist."""
        check_ids(self.system, network_id)
        response = self._send("DELETE", f"/controller/network/{network_id}")
        if response.status_code == 404:
            return False
        self._raise_for_status(response, f"DELETE /controller/network/{network_id}")
        if self._get_or_none(f"/controller/network/{network_id}") is not None:
            raise ProviderRejected(
                f"readback_mismatch: network {network_id} still exists after delete",
                system=self.system,
            )
        return True

    # -- raw members (backup and logical restore) ---------------------------------------------

    def get_member_raw(self, network_id: str, node_id: str) -> dict[str, Any] | None:
        check_ids(self.system, network_id, node_id)
        data = self._get_or_none(self._member_path(network_id, node_id))
        if data is None:
            self._require_network(network_id)
            return None
        return _object(data, f"member {node_id}", self.system)

    def set_member_raw(self, network_id: str, node_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST any member body (a restore); returns the member as read back."""
        check_ids(self.system, network_id, node_id)
        self._post_member(network_id, node_id, body)
        member = self.get_member_raw(network_id, node_id)
        if member is None:
            raise ProviderRejected(
                f"readback_mismatch: member {node_id} missing after write", system=self.system
            )
        return member

    # -- the provider protocol -----------------------------------------------------------------

    @staticmethod
    def _member_path(network_id: str, node_id: str) -> str:
        return f"/controller/network/{network_id}/member/{node_id}"

    def _post_member(self, network_id: str, node_id: str, body: dict[str, Any]) -> None:
        path = self._member_path(network_id, node_id)
        response = self._send("POST", path, body=body)
        if response.status_code == 404:
            raise self._network_missing(network_id)
        self._raise_for_status(response, f"POST {path}")

    def _to_member(self, network_id: str, node_id: str, data: dict[str, Any]) -> Member:
        return member_from_config(network_id, node_id, data, data.get("name"), self.system)

    def get_member(self, network_id: str, node_id: str) -> Member | None:
        data = self.get_member_raw(network_id, node_id)
        return None if data is None else self._to_member(network_id, node_id, data)

    def list_members(self, network_id: str) -> dict[str, int]:
        check_ids(self.system, network_id)
        data = self._get_or_none(f"/controller/network/{network_id}/member")
        if data is None:
            raise self._network_missing(network_id)
        return parse_member_list(data, self.system)

    def delete_member(self, network_id: str, node_id: str) -> None:
        check_ids(self.system, network_id, node_id)
        path = self._member_path(network_id, node_id)
        response = self._send("DELETE", path)
        if response.status_code != 404:
            self._raise_for_status(response, f"DELETE {path}")
        if self.get_member_raw(network_id, node_id) is not None:  # raises if network is gone
            raise ProviderRejected(
                f"readback_mismatch: member {node_id} still exists after delete",
                system=self.system,
            )


def _object(data: Any, what: str, system: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ProviderRejected(f"{what}: answer is not a JSON object", system=system)
    return data
