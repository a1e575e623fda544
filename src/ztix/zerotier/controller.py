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

import ipaddress
import logging
import re
import threading
import time
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ztix import observability
from ztix.redact import redact
from ztix.zerotier.provider import (
    SYSTEM_CONTROLLER,
    Member,
    MemberSpec,
    ProviderAuthFailed,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)

log = logging.getLogger(__name__)

_NODE_ID = re.compile(r"[0-9a-f]{10}")
_NETWORK_ID = re.compile(r"[0-9a-f]{16}")
_EXCERPT = 200


class ControllerSettings(BaseModel):
    """How to reach one controller. Give ``token`` or ``token_file`` (or both: the file is
    what :meth:`ControllerProvider.reload_token` re-reads)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "http://127.0.0.1:9993"
    token: SecretStr | None = None
    token_file: Path | None = None
    timeout_seconds: float = Field(10.0, gt=0)


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


# -- helpers shared with the Central adapter ---------------------------------------------------


def check_ids(system: str, network_id: str, node_id: str | None = None) -> None:
    """IDs go into URL paths: refuse anything but lower-case hex of the right length."""
    if not _NETWORK_ID.fullmatch(network_id):
        raise ProviderRejected(f"invalid network ID {network_id!r}", system=system)
    if node_id is not None and not _NODE_ID.fullmatch(node_id):
        raise ProviderRejected(f"invalid node ID {node_id!r}", system=system)


def canonical_spec(spec: MemberSpec, system: str) -> MemberSpec:
    """``spec`` with addresses in the form ZeroTier reads them back (inet_ntop)."""
    check_ids(system, spec.network_id, spec.node_id)
    addresses = []
    for text in spec.ip_assignments:
        try:
            addresses.append(ipaddress.ip_address(text).compressed)
        except ValueError:
            raise ProviderRejected(f"invalid address {text!r}", system=system) from None
    return replace(spec, ip_assignments=tuple(addresses))


def _canonical_ips(ips: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for text in ips:
        try:
            out.append(ipaddress.ip_address(text).compressed)
        except ValueError:
            out.append(text)
    return tuple(out)


def check_readback(member: Member, spec: MemberSpec, system: str) -> Member:
    """Raise :class:`ProviderRejected` unless ``member`` (as read back) is what was sent.

    ``spec`` comes from :func:`canonical_spec`; ``noAutoAssignIps`` must have stuck too.
    """
    canonical = replace(member, ip_assignments=_canonical_ips(member.ip_assignments))
    if not canonical.matches(spec) or member.no_auto_assign_ips is False:
        raise ProviderRejected(
            "readback_mismatch: sent authorized="
            f"{spec.authorized} ipAssignments={list(spec.ip_assignments)} name={spec.name!r}; "
            f"read back authorized={member.authorized} "
            f"ipAssignments={list(member.ip_assignments)} name={member.name!r} "
            f"noAutoAssignIps={member.no_auto_assign_ips}",
            system=system,
        )
    return member


def retry_after_seconds(headers: httpx.Headers, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or ``X-RateLimit-Reset``
    (seconds, or a Unix time when it is that large)."""
    now = time.time() if now is None else now
    value = headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError):
                pass
    value = headers.get("X-RateLimit-Reset")
    if value:
        try:
            reset = float(value)
        except ValueError:
            return None
        return max(0.0, reset - now if reset > 1e9 else reset)
    return None


def member_from_config(
    network_id: str, node_id: str, config: Any, name: Any, system: str
) -> Member:
    """A :class:`Member` from a controller member object (Central's ``config``)."""
    if not isinstance(config, dict):
        raise ProviderRejected("unexpected member object in answer", system=system)
    authorized = config.get("authorized")
    ips = config.get("ipAssignments", [])
    no_auto = config.get("noAutoAssignIps")
    revision = config.get("revision")
    if (
        not isinstance(authorized, bool)
        or not isinstance(ips, list)
        or not all(isinstance(ip, str) for ip in ips)
        or not isinstance(no_auto, bool | None)
        or not (revision is None or (isinstance(revision, int) and not isinstance(revision, bool)))
    ):
        raise ProviderRejected("unexpected member field types in answer", system=system)
    return Member(
        network_id=network_id,
        node_id=node_id,
        authorized=authorized,
        ip_assignments=tuple(ips),
        name=name if isinstance(name, str) else "",
        no_auto_assign_ips=no_auto,
        revision=revision,
    )


def parse_member_list(data: Any, system: str) -> dict[str, int]:
    """``{"<id>": revision}`` (1.14) or ``[{"<id>": revision}, ...]`` (1.12.x)."""
    if isinstance(data, dict):
        pairs = list(data.items())
    elif isinstance(data, list) and all(isinstance(item, dict) for item in data):
        pairs = [pair for item in data for pair in item.items()]
    else:
        raise ProviderRejected("unexpected member list shape in answer", system=system)
    out: dict[str, int] = {}
    for node_id, revision in pairs:
        if not isinstance(node_id, str) or not _NODE_ID.fullmatch(node_id.lower()):
            raise ProviderRejected(f"unexpected member ID {node_id!r} in list", system=system)
        if not isinstance(revision, int) or isinstance(revision, bool):
            raise ProviderRejected(f"unexpected revision for {node_id} in list", system=system)
        out[node_id.lower()] = revision
    return out


_PATH_LITERALS = frozenset({"status", "controller", "network", "member"})


def endpoint_template(path: str) -> str:
    """``path`` with its IDs replaced: ``/controller/network/{nwid}/member/{id}``.

    Metric labels take this, never raw IDs, so that their number stays bounded; a segment
    that is neither a known word nor an ID becomes ``{other}``.
    """
    parts = path.split("?", 1)[0].strip("/").split("/")
    out = []
    for i, part in enumerate(parts):
        before = parts[i - 1] if i else ""
        if part in _PATH_LITERALS:
            out.append(part)
        elif before == "network":
            out.append("{nwid}")
        elif before == "member":
            out.append("{id}")
        else:
            out.append("{other}")
    return "/" + "/".join(out)


_CREDENTIAL_HEADERS = ("X-ZT1-Auth", "Authorization")


def _sent_credentials(response: httpx.Response) -> list[str]:
    """The credentials the request carried: whole header values and, for ``token <t>`` or
    ``Bearer <t>``, the bare token too."""
    try:
        headers = response.request.headers
    except RuntimeError:  # a response built without a request
        return []
    found = set()
    for name in _CREDENTIAL_HEADERS:
        for value in headers.get_list(name):
            found.add(value.strip())
            found.add(value.strip().partition(" ")[2].strip())
    return sorted(v for v in found if v)


def excerpt(response: httpx.Response) -> str:
    """The start of an answer's body, for error messages, with the token we sent blanked:
    an API or a proxy may quote it back ("invalid token ..."), and error messages reach
    logs, the audit trail and API answers."""
    text = redact(response.text.strip().replace("\n", " "), _sent_credentials(response))
    return text[:_EXCERPT] + ("…" if len(text) > _EXCERPT else "")


def read_json(response: httpx.Response, what: str, system: str) -> Any:
    try:
        return response.json()
    except ValueError:
        # A 2xx that is not JSON comes from something in between (a proxy), not the API.
        raise ProviderUnavailable(
            f"{what}: answer is not JSON ({excerpt(response)!r})", system=system
        ) from None


# -- the adapter -------------------------------------------------------------------------------


class ControllerProvider:
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
        start); a token that works there replaces the old one. A 401
        that stands is checked against the open ``/health``: zerotier-one 1.14.1 refuses
        every call, ``/health`` too, while it shuts down (for up to its 5 s keep-alive), so
        then the controller is unavailable, not the token wrong.
        """
        checking = token is not None  # a candidate token (reload_token): no other one
        if token is None:
            with self._token_lock:
                token = self._token
        response = self._exchange(method, path, body, token)
        if response.status_code == 401 and not checking:
            candidate = token if self._settings.token else self._read_token_file()
            response = self._exchange(method, path, body, candidate)
            if response.status_code != 401 and candidate != token:
                self._use_token(candidate)
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
        what = f"{method} {path}"
        try:
            response = observability.zerotier_call(
                "controller",
                method,
                endpoint_template(path),
                lambda: self._request(method, path, body, token),
            )
        except httpx.TimeoutException:
            raise ProviderUnavailable(
                f"{what}: no answer within {self._settings.timeout_seconds:g} s",
                system=self.system,
            ) from None
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"{what}: {type(exc).__name__}: {exc}", system=self.system
            ) from None
        log.debug("%s -> %s", what, response.status_code)
        return response

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

    def status(self) -> NodeStatus:
        data = self._call("GET", "/status")
        address = data.get("address") if isinstance(data, dict) else None
        if not isinstance(address, str) or not _NODE_ID.fullmatch(address):
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

    def ensure_member(self, spec: MemberSpec) -> Member:
        spec = canonical_spec(spec, self.system)
        body: dict[str, Any] = {
            "authorized": bool(spec.authorized),
            "ipAssignments": [str(ip) for ip in spec.ip_assignments],
            "noAutoAssignIps": True,
        }
        if spec.name:  # an empty name means "leave it as it is" (Member.matches agrees)
            body["name"] = str(spec.name)
        self._post_member(spec.network_id, spec.node_id, body)
        member = self.get_member(spec.network_id, spec.node_id)
        if member is None:
            raise ProviderRejected(
                f"readback_mismatch: member {spec.node_id} missing after write", system=self.system
            )
        return check_readback(member, spec, self.system)

    def get_member(self, network_id: str, node_id: str) -> Member | None:
        data = self.get_member_raw(network_id, node_id)
        return None if data is None else self._to_member(network_id, node_id, data)

    def list_members(self, network_id: str) -> dict[str, int]:
        check_ids(self.system, network_id)
        data = self._get_or_none(f"/controller/network/{network_id}/member")
        if data is None:
            raise self._network_missing(network_id)
        return parse_member_list(data, self.system)

    def deauthorize_member(self, network_id: str, node_id: str) -> Member | None:
        # Look first: a POST to an unknown node would create it.
        current = self.get_member(network_id, node_id)
        if current is None:
            return None
        spec = MemberSpec(network_id, node_id, authorized=False, ip_assignments=())
        body = {"authorized": False, "ipAssignments": [], "noAutoAssignIps": True}
        self._post_member(network_id, node_id, body)
        member = self.get_member(network_id, node_id)
        if member is None:
            return None  # deleted meanwhile: not authorized either
        return check_readback(member, spec, self.system)

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
