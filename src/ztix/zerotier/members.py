"""Member sync shared by the ZeroTier adapters (the self-hosted controller and Central).

The two APIs differ in paths, auth and how a member object is wrapped (Central keeps the
settings in ``config`` and the name at the top level); what a member write means does not:
IDs are checked before they go into a URL, addresses are sent the way ZeroTier reads them
back, and every write is read back and compared (:class:`MemberSync`). The wire helpers
(retry hints, metric endpoint labels, redacted body excerpts) are shared too.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ztix import observability
from ztix.redact import redact
from ztix.zerotier.provider import Member, MemberSpec, ProviderRejected, ProviderUnavailable

log = logging.getLogger(__name__)

NODE_ID = re.compile(r"[0-9a-f]{10}")
_NETWORK_ID = re.compile(r"[0-9a-f]{16}")
_EXCERPT = 200


# -- wire helpers ------------------------------------------------------------------------------


def check_ids(system: str, network_id: str, node_id: str | None = None) -> None:
    """IDs go into URL paths: refuse anything but lower-case hex of the right length."""
    if not _NETWORK_ID.fullmatch(network_id):
        raise ProviderRejected(f"invalid network ID {network_id!r}", system=system)
    if node_id is not None and not NODE_ID.fullmatch(node_id):
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
        if not isinstance(node_id, str) or not NODE_ID.fullmatch(node_id.lower()):
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


def exchange(
    api: str,
    system: str,
    timeout_seconds: float,
    method: str,
    path: str,
    send: Callable[[], httpx.Response],
) -> httpx.Response:
    """One HTTP exchange with a ZeroTier API (``api``: the metric label), measured; a
    timeout or a transport failure is :class:`ProviderUnavailable`. The status is the
    caller's to map: the two APIs read some of them differently."""
    what = f"{method} {path}"
    try:
        response = observability.zerotier_call(api, method, endpoint_template(path), send)
    except httpx.TimeoutException:
        raise ProviderUnavailable(
            f"{what}: no answer within {timeout_seconds:g} s", system=system
        ) from None
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"{what}: {type(exc).__name__}: {exc}", system=system) from None
    log.debug("%s -> %s", what, response.status_code)
    return response


def read_json(response: httpx.Response, what: str, system: str) -> Any:
    try:
        return response.json()
    except ValueError:
        # A 2xx that is not JSON comes from something in between (a proxy), not the API.
        raise ProviderUnavailable(
            f"{what}: answer is not JSON ({excerpt(response)!r})", system=system
        ) from None


# -- the member sync ---------------------------------------------------------------------------


class MemberSync(ABC):
    """``ensure_member`` and ``deauthorize_member`` of :class:`ZeroTierProvider`, written
    once: an adapter supplies how to write a member's body and read a member back."""

    system: str

    @abstractmethod
    def _post_member(self, network_id: str, node_id: str, body: dict[str, Any]) -> None:
        """Write ``body`` to the member (raises :class:`ProviderNotFound` for no network)."""

    @abstractmethod
    def get_member(self, network_id: str, node_id: str) -> Member | None: ...

    def _member_body(self, config: dict[str, Any], name: str) -> dict[str, Any]:
        """The request body for member settings ``config`` and ``name`` ("": leave it)."""
        return {**config, "name": name} if name else config

    def ensure_member(self, spec: MemberSpec) -> Member:
        spec = canonical_spec(spec, self.system)
        config: dict[str, Any] = {
            "authorized": bool(spec.authorized),
            "ipAssignments": [str(ip) for ip in spec.ip_assignments],
            "noAutoAssignIps": True,
        }
        # An empty name means "leave it as it is" (Member.matches agrees).
        self._post_member(spec.network_id, spec.node_id, self._member_body(config, spec.name))
        member = self.get_member(spec.network_id, spec.node_id)
        if member is None:
            raise ProviderRejected(
                f"readback_mismatch: member {spec.node_id} missing after write", system=self.system
            )
        return check_readback(member, spec, self.system)

    def deauthorize_member(self, network_id: str, node_id: str) -> Member | None:
        # Look first: a POST to an unknown node would create it.
        if self.get_member(network_id, node_id) is None:
            return None
        spec = MemberSpec(network_id, node_id, authorized=False, ip_assignments=())
        config = {"authorized": False, "ipAssignments": [], "noAutoAssignIps": True}
        self._post_member(network_id, node_id, self._member_body(config, ""))
        member = self.get_member(network_id, node_id)
        if member is None:
            return None  # deleted meanwhile: not authorized either
        return check_readback(member, spec, self.system)
