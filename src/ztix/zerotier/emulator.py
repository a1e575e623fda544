"""An emulator of the zerotier-one 1.14 controller API (DESIGN §4 and §8).

zerotier-one is not packaged on the machines ZT-IX is tested on, so the tests and the
embedded default talk to this HTTP server instead. It follows the real controller
(``controller/EmbeddedNetworkController.cpp``, ``controller/DB.cpp``, ``controller/FileDB.cpp``,
``service/OneService.cpp``, ``osdep/OSUtils.cpp``) where ZT-IX can observe the difference:

- auth: ``X-ZT1-Auth`` header, else the ``auth`` query parameter, else ``Authorization:
  Bearer``; a wrong or missing token gets 401 with body ``{}``; only ``/health`` is open.
  Like 1.14.1, after a 401 to a request with a body the next request on the same keep-alive
  connection is answered 400 with an empty body (``empty_400_after_401``, on by default);
  and while it shuts down it answers 401 to everything, ``/health`` too
  (:meth:`ControllerEmulator.set_shutting_down`).
  Requests from outside loopback also need ``allow_management_from`` (``local.conf``).
- ``/status``, ``/controller`` (503 while the database is not ready), ``/controller/network``,
  ``POST /controller/network/{nwid}`` creates or updates *any* 16-hex ID (the real controller
  stores a foreign prefix without complaint and simply never serves it), ``POST
  /controller/network`` and ``POST /controller/network/{address}______`` create a network with
  a random suffix (400 when ``{address}`` is not the controller's), member list ``{"<id>":
  revision}`` (or the 1.12.x list of one-key objects, :attr:`ControllerEmulator.member_list_shape`),
  member GET/POST/DELETE; a POST to an unseen node creates (pre-authorizes) it.
- silent coercion exactly like ``OSUtils::jsonBool/jsonInt/jsonString``: ``"authorized": "yes"``
  stores false, ``"true"``/``"1"``/``1`` store true, names are stringified, an IP with a
  ``/bits`` suffix loses it, a string that is not an address is dropped; malformed JSON or a
  non-string in ``ipAssignments`` is a 500 ``{"error": 500, "description": ...}``.
- revisions count real changes only (``_compareRecords`` ignores ``revision``), so an
  identical POST leaves the revision alone.
- state under ``<home>/controller.d/network/<nwid>.json`` and
  ``.../<nwid>/member/<id>.json``, rewritten on every change and loaded at start;
  ``identity.public``, ``identity.secret`` and ``authtoken.secret`` in ``<home>``.

Known simplifications: while the database is not ready every ``/controller/...`` route answers
503 (the real one blocks inside ``waitForReady``); rule type ``INTEGER_RANGE`` is dropped; JSONP
is not supported.

Fault injection, settable from Python or over ``/_emulator/faults`` (same token; the real
controller has no such route): latency, the next N requests answering a given status, timing
out (held open, then closed unanswered) or dropping the TCP connection (RST), and the next N
member writes being altered after coercion (to prove clients read back what they wrote).

Run standalone: ``python -m ztix.zerotier.emulator --home var/zt-emulator --port 9993``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import ipaddress
import json
import logging
import os
import re
import secrets
import socket
import string
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

VERSION = (1, 14, 2)
API_VERSION = 4
ZT_DEFAULT_MTU = 2800
ZT_MIN_MTU = 1280
ZT_MAX_MTU = 10000
MAX_ARRAY = 16384  # ZT_CONTROLLER_MAX_ARRAY_SIZE
U64 = (1 << 64) - 1

MemberListShape = Literal["map", "list"]
Json = dict[str, Any]

_HEX10 = r"[0-9a-fA-F]{10}"
_HEX16 = r"[0-9a-fA-F]{16}"


# -- coercion, as OSUtils does it ------------------------------------------------------------


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _to_u64(v: int | float) -> int:
    # A C cast to uint64_t: negative values wrap around.
    return int(v) & U64


def _leading_uint(s: str, base: int) -> int:
    digits = "0123456789abcdef"[:base]
    m = re.match(rf"\s*[+-]?[{digits}]*", s, re.IGNORECASE)
    text = m.group(0).strip() if m else ""
    neg = text.startswith("-")
    text = text.lstrip("+-")
    value = int(text, base) if text else 0
    return (-value if neg else value) & U64


def json_bool(v: Any, default: bool) -> bool:
    if isinstance(v, bool):
        return v
    if _is_number(v):
        return _to_u64(v) > 0
    if isinstance(v, str):
        return bool(v) and v[0] in "tT1"
    return default


def json_int(v: Any, default: int) -> int:
    if isinstance(v, bool):
        return 1 if v else 0
    if _is_number(v):
        return _to_u64(v)
    if isinstance(v, str):
        return _leading_uint(v, 10)
    return default


def json_string(v: Any, default: str) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "1" if v else "0"
    if _is_number(v):
        return str(_to_u64(v))
    return default


def _hex_u64(s: str) -> int:
    return _leading_uint(s, 16)


# -- InetAddress::fromString / toIpString / toString -----------------------------------------


@dataclass(frozen=True)
class _Inet:
    version: int  # 4 or 6
    ip: str
    port: int  # the /bits suffix lives in the port field, as in ZeroTier

    def text(self) -> str:
        return f"{self.ip}/{self.port}"


def _parse_inet(s: str) -> _Inet | None:
    if len(s) >= 64:  # Utils::scopy into a 64-byte buffer fails
        return None
    ip, _, port_text = s.partition("/")
    port = _leading_uint(port_text, 10) & 0xFFFF if port_text else 0
    if ":" in ip:
        try:
            return _Inet(6, ipaddress.IPv6Address(ip).compressed, port)
        except ValueError:  # inet_pton failed but the family is already set
            return _Inet(6, "::", port)
    if "." in ip:
        try:
            return _Inet(4, str(ipaddress.IPv4Address(ip)), port)
        except ValueError:
            return _Inet(4, "0.0.0.0", port)  # noqa: S104 - what the controller stores
    return None


# -- flow rules (a _parseRule/_renderRule round trip) ----------------------------------------

_ACTIONS = {"ACTION_DROP", "ACTION_ACCEPT", "ACTION_BREAK"}
_FORWARDS = {"ACTION_TEE": True, "ACTION_WATCH": True, "ACTION_REDIRECT": False}
# type -> [(field, mask, default-from-field)]
_INT_MATCHES: dict[str, list[tuple[str, int, str | None]]] = {
    "MATCH_VLAN_ID": [("vlanId", 0xFFFF, None)],
    "MATCH_VLAN_PCP": [("vlanPcp", 0xFF, None)],
    "MATCH_VLAN_DEI": [("vlanDei", 0xFF, None)],
    "MATCH_ETHERTYPE": [("etherType", 0xFFFF, None)],
    "MATCH_IP_PROTOCOL": [("ipProtocol", 0xFF, None)],
    "MATCH_IP_TOS": [("mask", 0xFF, None), ("start", 0xFF, None), ("end", 0xFF, None)],
    "MATCH_IP_SOURCE_PORT_RANGE": [("start", 0xFFFF, None), ("end", 0xFFFF, "start")],
    "MATCH_IP_DEST_PORT_RANGE": [("start", 0xFFFF, None), ("end", 0xFFFF, "start")],
    "MATCH_FRAME_SIZE_RANGE": [("start", 0xFFFF, None), ("end", 0xFFFF, "start")],
    "MATCH_RANDOM": [("probability", 0xFFFFFFFF, None)],
}
_TAG_MATCHES = {
    "MATCH_TAGS_DIFFERENCE",
    "MATCH_TAGS_BITWISE_AND",
    "MATCH_TAGS_BITWISE_OR",
    "MATCH_TAGS_BITWISE_XOR",
    "MATCH_TAGS_EQUAL",
    "MATCH_TAG_SENDER",
    "MATCH_TAG_RECEIVER",
}


def _zt_address(v: Any) -> str:
    return f"{_hex_u64(json_string(v, '0')) & 0xFFFFFFFFFF:010x}"


def _ip_match(rule: Json, version: int) -> str:
    raw = json_string(rule.get("ip"), "0.0.0.0" if version == 4 else "::0")  # noqa: S104
    parsed = _parse_inet(raw)
    if parsed is None or parsed.version != version:
        # The controller reinterprets the bytes whatever the family; an unspecified address
        # is what a client would observe for nonsense input.
        parsed = _Inet(version, "0.0.0.0" if version == 4 else "::", 0)  # noqa: S104
    limit = 32 if version == 4 else 128
    return f"{parsed.ip}/{min(parsed.port & 0xFF, limit)}"


def render_rule(rule: Any) -> Json | None:
    """What the controller stores for one posted rule; None when it drops the rule."""
    if not isinstance(rule, dict):
        return None
    t = json_string(rule.get("type"), "")
    if t in _ACTIONS:
        return {"type": t}
    if t in _FORWARDS:
        out: Json = {
            "type": t,
            "address": _zt_address(rule.get("address")),
            "flags": json_int(rule.get("flags"), 0) & 0xFFFFFFFF,
        }
        if _FORWARDS[t]:
            out["length"] = json_int(rule.get("length"), 0) & 0xFFFF
        return out
    out = {"type": t}
    if t in ("MATCH_SOURCE_ZEROTIER_ADDRESS", "MATCH_DEST_ZEROTIER_ADDRESS"):
        out["zt"] = _zt_address(rule.get("zt"))
    elif t in _INT_MATCHES:
        for name, mask, default_from in _INT_MATCHES[t]:
            default = out[default_from] if default_from else 0
            out[name] = json_int(rule.get(name), default) & mask
    elif t in _TAG_MATCHES:
        out["id"] = json_int(rule.get("id"), 0) & 0xFFFFFFFF
        out["value"] = json_int(rule.get("value"), 0) & 0xFFFFFFFF
    elif t in ("MATCH_IPV4_SOURCE", "MATCH_IPV4_DEST"):
        out["ip"] = _ip_match(rule, 4)
    elif t in ("MATCH_IPV6_SOURCE", "MATCH_IPV6_DEST"):
        out["ip"] = _ip_match(rule, 6)
    elif t in ("MATCH_MAC_SOURCE", "MATCH_MAC_DEST"):
        hexdigits = re.sub(r"[^0-9a-fA-F]", "", json_string(rule.get("mac"), "0"))[:12]
        mac = hexdigits.lower().ljust(12, "0")
        out["mac"] = ":".join(mac[i : i + 2] for i in range(0, 12, 2))
    elif t == "MATCH_ICMP":
        out["icmpType"] = json_int(rule.get("icmpType"), 0) & 0xFF
        code = rule.get("icmpCode")
        out["icmpCode"] = None if code is None else json_int(code, 0) & 0xFF
    elif t == "MATCH_CHARACTERISTICS":
        mask = rule.get("mask", 0)
        value = _to_u64(mask) if _is_number(mask) else _hex_u64(json_string(mask, "0"))
        out["mask"] = f"{value:016x}"
    else:
        return None
    out["not"] = json_bool(rule.get("not"), False)
    out["or"] = json_bool(rule.get("or"), False)
    return out


def _rules(value: Any) -> list[Json]:
    rendered = [r for r in (render_rule(x) for x in value) if r is not None]
    return rendered[:MAX_ARRAY]


# -- records (DB::initNetwork / initMember and the POST handlers) ----------------------------


def _now_ms() -> int:
    return int(time.time() * 1000)


def init_network(network: Json) -> None:
    defaults: Json = {
        "private": True,
        "creationTime": _now_ms(),
        "name": "",
        "multicastLimit": 32,
        "enableBroadcast": True,
        "v4AssignMode": {"zt": False},
        "v6AssignMode": {"rfc4193": False, "zt": False, "6plane": False},
        "authTokens": [None],  # nlohmann's {{}} is an array holding one null
        "capabilities": [],
        "tags": [],
        "routes": [],
        "ipAssignmentPools": [],
        "mtu": ZT_DEFAULT_MTU,
        "remoteTraceTarget": None,
        "rulesSource": "",
        "rules": [{"not": False, "or": False, "type": "ACTION_ACCEPT"}],
        "dns": [],
        "ssoEnabled": False,
        "clientId": "",
        "authorizationEndpoint": "",
    }
    for key, value in defaults.items():
        network.setdefault(key, value)
    # DB.cpp tests "removeTraceLevel" (sic) and so resets the level on every update.
    network["remoteTraceLevel"] = 0
    network["objtype"] = "network"


def init_member(member: Json) -> None:
    defaults: Json = {
        "authorized": False,
        "ssoExempt": False,
        "ipAssignments": [],
        "activeBridge": False,
        "tags": [],
        "capabilities": [],
        "creationTime": _now_ms(),
        "noAutoAssignIps": False,
        "revision": 0,
        "lastDeauthorizedTime": 0,
        "lastAuthorizedTime": 0,
        "lastAuthorizedCredentialType": None,
        "lastAuthorizedCredential": None,
        "authenticationExpiryTime": 0,
        "vMajor": -1,
        "vMinor": -1,
        "vRev": -1,
        "vProto": -1,
        "remoteTraceTarget": None,
    }
    for key, value in defaults.items():
        member.setdefault(key, value)
    member["remoteTraceLevel"] = 0
    member["objtype"] = "member"


def _trace_target(v: Any) -> str | None:
    rtt = json_string(v, "")
    return rtt if len(rtt) == 10 else None


def _assign_modes(network: Json, b: Json) -> None:
    if "v4AssignMode" in b:
        v4 = b["v4AssignMode"]
        if isinstance(v4, str):  # backward compatibility
            network["v4AssignMode"] = {"zt": v4 == "zt"}
        elif isinstance(v4, dict):
            network["v4AssignMode"] = {"zt": json_bool(v4.get("zt"), False)}
        else:
            network["v4AssignMode"] = {"zt": False}
    if "v6AssignMode" in b:
        v6 = b["v6AssignMode"]
        keys = ("rfc4193", "zt", "6plane")
        if isinstance(v6, str):
            modes = set(v6.split(","))
            network["v6AssignMode"] = {k: k in modes for k in keys}
        elif isinstance(v6, dict):
            # Only the keys present in the body survive: the controller starts from {}.
            network["v6AssignMode"] = {k: json_bool(v6[k], False) for k in keys if k in v6}
        else:
            network["v6AssignMode"] = dict.fromkeys(keys, False)


def _routes(value: list[Any]) -> list[Json]:
    out: list[Json] = []
    for rt in value:
        if not isinstance(rt, dict) or not isinstance(rt.get("target"), str):
            continue
        target = _parse_inet(rt["target"])
        if target is None or target.port > (32 if target.version == 4 else 128):
            continue
        via_raw = rt.get("via")
        via = _parse_inet(via_raw) if isinstance(via_raw, str) else None
        same = via is not None and via.version == target.version
        out.append({"target": target.text(), "via": via.ip if via and same else None})
        if len(out) >= MAX_ARRAY:
            break
    return out


def _pools(value: list[Any]) -> list[Json]:
    out: list[Json] = []
    for pool in value:
        if not isinstance(pool, dict) or "ipRangeStart" not in pool or "ipRangeEnd" not in pool:
            continue
        start = _parse_inet(json_string(pool["ipRangeStart"], ""))
        end = _parse_inet(json_string(pool["ipRangeEnd"], ""))
        if start and end and start.version == end.version:
            out.append({"ipRangeStart": start.ip, "ipRangeEnd": end.ip})
    return out[:MAX_ARRAY]


def _capabilities(value: list[Any]) -> list[Json]:
    caps: dict[int, Json] = {}
    for cap in value:
        if isinstance(cap, dict):
            cap_id = json_int(cap.get("id"), 0)
            rules = cap.get("rules")
            caps[cap_id] = {
                "id": cap_id,
                "default": json_bool(cap.get("default"), False),
                "rules": _rules(rules) if isinstance(rules, list) else [],
            }
    return [caps[k] for k in sorted(caps)][:MAX_ARRAY]


def _network_tags(value: list[Any]) -> list[Json]:
    tags: dict[int, Json] = {}
    for tag in value:
        if isinstance(tag, dict):
            tag_id = json_int(tag.get("id"), 0)
            dfl = tag.get("default")
            tags[tag_id] = {"id": tag_id, "default": None if dfl is None else json_int(dfl, 0)}
    return [tags[k] for k in sorted(tags)][:MAX_ARRAY]


def apply_network_post(network: Json, b: Any, nwid: str) -> None:
    """networkUpdateFromPostData: coerce every known field of ``b`` into ``network``."""
    init_network(network)
    if not isinstance(b, dict):  # nlohmann's count() on a non-object finds nothing
        b = {}
    if "name" in b:
        network["name"] = json_string(b["name"], "")
    if "private" in b:
        network["private"] = json_bool(b["private"], True)
    if "enableBroadcast" in b:
        network["enableBroadcast"] = json_bool(b["enableBroadcast"], False)
    if "multicastLimit" in b:
        network["multicastLimit"] = json_int(b["multicastLimit"], 32)
    if "mtu" in b:
        mtu = json_int(b["mtu"], ZT_DEFAULT_MTU) & 0xFFFFFFFF  # (unsigned int)
        network["mtu"] = max(min(mtu, ZT_MAX_MTU), ZT_MIN_MTU)
    if "remoteTraceTarget" in b:
        network["remoteTraceTarget"] = _trace_target(b["remoteTraceTarget"])
    if "remoteTraceLevel" in b:
        network["remoteTraceLevel"] = json_int(b["remoteTraceLevel"], 0)
    _assign_modes(network, b)
    if isinstance(b.get("routes"), list):
        network["routes"] = _routes(b["routes"])
    if isinstance(b.get("ipAssignmentPools"), list):
        network["ipAssignmentPools"] = _pools(b["ipAssignmentPools"])
    if isinstance(b.get("rules"), list):
        network["rules"] = _rules(b["rules"])
    if "authTokens" in b:
        tokens = b["authTokens"]
        if isinstance(tokens, dict):
            kept = {k: v for k, v in tokens.items() if _is_number(v) and v >= 0}
            network["authTokens"] = kept or None
        else:
            network["authTokens"] = [None]
    if isinstance(b.get("capabilities"), list):
        network["capabilities"] = _capabilities(b["capabilities"])
    if isinstance(b.get("tags"), list):
        network["tags"] = _network_tags(b["tags"])
    if isinstance(b.get("dns"), dict):
        dns: Json = {"domain": b["dns"].get("domain")}
        if isinstance(b["dns"].get("servers"), list):
            dns["servers"] = list(b["dns"]["servers"])
        network["dns"] = dns
    network["id"] = nwid
    network["nwid"] = nwid
    for computed in ("clock", "authorizedMemberCount", "activeMemberCount", "totalMemberCount"):
        network.pop(computed, None)
    network.pop("lastModified", None)


class _ServerError(Exception):
    """An exception inside a handler: OneService answers 500 with a description."""


def _member_ips(value: list[Any]) -> list[str]:
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            # `std::string ips = ipa[i];` throws nlohmann's type_error.302.
            kind = "number" if _is_number(item) else type(item).__name__
            raise _ServerError(
                f"[json.exception.type_error.302] type must be string, but is {kind}"
            )
        parsed = _parse_inet(item)
        if parsed is not None:
            out.append(parsed.ip)
            if len(out) >= MAX_ARRAY:
                break
    return out


def apply_member_post(member: Json, b: Any, nwid: str, node_id: str) -> None:
    """memberPost: coerce every known field of ``b`` into ``member``."""
    init_member(member)
    if not isinstance(b, dict):
        b = {}
    if "activeBridge" in b:
        member["activeBridge"] = json_bool(b["activeBridge"], False)
    if "noAutoAssignIps" in b:
        member["noAutoAssignIps"] = json_bool(b["noAutoAssignIps"], False)
    if "authenticationExpiryTime" in b:
        member["authenticationExpiryTime"] = json_int(b["authenticationExpiryTime"], 0)
    if "name" in b:
        member["name"] = json_string(b["name"], "")
    if "remoteTraceTarget" in b:
        member["remoteTraceTarget"] = _trace_target(b["remoteTraceTarget"])
    if "remoteTraceLevel" in b:
        member["remoteTraceLevel"] = json_int(b["remoteTraceLevel"], 0)
    if "authorized" in b:
        new_auth = json_bool(b["authorized"], False)
        if new_auth != json_bool(member.get("authorized"), False):
            member["authorized"] = new_auth
            member["lastAuthorizedTime" if new_auth else "lastDeauthorizedTime"] = _now_ms()
            if new_auth:
                member["lastAuthorizedCredentialType"] = "api"
                member["lastAuthorizedCredential"] = None
    if isinstance(b.get("ipAssignments"), list):
        member["ipAssignments"] = _member_ips(b["ipAssignments"])
    if isinstance(b.get("tags"), list):
        pairs: dict[int, int] = {}
        for tag in b["tags"]:
            if isinstance(tag, list) and len(tag) == 2:
                pairs[json_int(tag[0], 0) & 0xFFFFFFFF] = json_int(tag[1], 0) & 0xFFFFFFFF
        member["tags"] = [[k, pairs[k]] for k in sorted(pairs)]
    if isinstance(b.get("capabilities"), list):
        caps = {json_int(c, 0) for c in b["capabilities"][:MAX_ARRAY]}
        member["capabilities"] = sorted(caps)
    member["id"] = node_id
    member["address"] = node_id
    member["nwid"] = nwid
    for computed in (
        "clock",
        "physicalAddress",
        "recentLog",
        "lastModified",
        "lastRequestMetaData",
        "authenticationURL",
        "authenticationClientID",
    ):
        member.pop(computed, None)


def _same_record(a: Json | None, b: Json) -> bool:
    """DB::_compareRecords: equal apart from ``revision``."""
    if a is None or len(a) != len(b):
        return False
    return all(k == "revision" or (k in b and b[k] == v) for k, v in a.items())


# -- on-disk state (FileDB) -------------------------------------------------------------------


def _dump(record: Json) -> str:
    # nlohmann::json keeps object keys sorted and dump() is compact.
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def _copy(record: Json) -> Json:
    copied: Json = json.loads(_dump(record))
    return copied


def _write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{secrets.token_hex(4)}-{path.name}")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(mode)
    tmp.replace(path)


class _Store:
    """Networks and members in memory, mirrored to ``controller.d`` on every change."""

    def __init__(self, db_path: Path) -> None:
        self.networks_path = db_path / "network"
        self.networks: dict[str, Json] = {}
        self.members: dict[str, dict[str, Json]] = {}
        self.networks_path.mkdir(parents=True, exist_ok=True)
        (db_path / "trace").mkdir(exist_ok=True)
        self._load()

    def _load(self) -> None:
        for path in sorted(self.networks_path.iterdir()):
            if len(path.name) != 21 or not path.name.endswith(".json"):
                continue
            network = self._read(path)
            nwid = network.get("id") if network else None
            if not network or not isinstance(nwid, str) or len(nwid) != 16:
                continue
            self.networks[nwid] = network
            members = self.members.setdefault(nwid, {})
            member_dir = self.networks_path / nwid / "member"
            if not member_dir.is_dir():
                continue
            for mpath in sorted(member_dir.iterdir()):
                member = self._read(mpath) if len(mpath.name) == 15 else None
                mid = member.get("id") if member else None
                if member and isinstance(mid, str) and len(mid) == 10:
                    members[mid] = member

    @staticmethod
    def _read(path: Path) -> Json | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def save_network(self, record: Json) -> None:
        nwid = record["id"]
        old = self.networks.get(nwid)
        if _same_record(old, record):
            return
        record["revision"] = json_int(record.get("revision"), 0) + 1
        _write_atomic(self.networks_path / f"{nwid}.json", _dump(record))
        self.networks[nwid] = record
        self.members.setdefault(nwid, {})

    def save_member(self, record: Json) -> None:
        nwid, mid = record["nwid"], record["id"]
        old = self.members.get(nwid, {}).get(mid)
        if _same_record(old, record):
            return
        record["revision"] = json_int(record.get("revision"), 0) + 1
        path = self.networks_path / nwid / "member" / f"{mid}.json"
        _write_atomic(path, _dump(record))
        self.members.setdefault(nwid, {})[mid] = record

    def erase_network(self, nwid: str) -> None:
        (self.networks_path / f"{nwid}.json").unlink(missing_ok=True)
        _remove_tree(self.networks_path / nwid)
        self.networks.pop(nwid, None)
        self.members.pop(nwid, None)

    def erase_member(self, nwid: str, mid: str) -> None:
        (self.networks_path / nwid / "member" / f"{mid}.json").unlink(missing_ok=True)
        self.members.get(nwid, {}).pop(mid, None)


def _remove_tree(path: Path) -> None:
    if not path.exists():
        return
    for child in sorted(path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    path.rmdir()


# -- identity and token ----------------------------------------------------------------------

_TOKEN_ALPHABET = string.ascii_lowercase + string.digits


def _new_address() -> str:
    while True:
        address = secrets.token_hex(5)
        # Reserved by ZeroTier: 0000000000 and the ff prefix.
        if not address.startswith("ff") and address != "0000000000":
            return address


def _load_identity(home: Path) -> str:
    public, secret = home / "identity.public", home / "identity.secret"
    if secret.exists():
        fields = secret.read_text(encoding="ascii").strip().split(":")
        if len(fields) != 4 or not re.fullmatch(r"[0-9a-f]{10}", fields[0]):
            raise ValueError(f"{secret} is not a ZeroTier identity")
        if not public.exists():
            _write_atomic(public, ":".join(fields[:3]))
        return fields[0]
    address = _new_address()
    pub = f"{address}:0:{secrets.token_hex(64)}"
    _write_atomic(secret, f"{pub}:{secrets.token_hex(64)}", mode=0o600)
    _write_atomic(public, pub)
    return address


def _load_token(home: Path, token: str | None) -> str:
    path = home / "authtoken.secret"
    if token is None and path.exists():
        token = path.read_text(encoding="utf-8").strip()
    if not token:
        token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(24))
    _write_atomic(path, token, mode=0o600)
    return token


# -- fault knobs -----------------------------------------------------------------------------


@dataclass
class Faults:
    """What the emulator does wrong on purpose. Counters count down per request."""

    latency: float = 0.0  # seconds added before every answer
    error_status: int = 503
    error_count: int = 0  # the next N requests answer error_status
    timeout_count: int = 0  # the next N requests are held open, then closed unanswered
    hang_seconds: float = 30.0  # how long a "timeout" is held (released by stop())
    drop_count: int = 0  # the next N requests get a TCP reset instead of an answer
    alter_count: int = 0  # the next N member writes are altered after coercion
    alter_fields: Json = field(default_factory=dict)

    def take(self) -> str | None:
        for name in ("drop_count", "timeout_count", "error_count"):
            if getattr(self, name) > 0:
                setattr(self, name, getattr(self, name) - 1)
                return name
        return None


_FAULT_TYPES: dict[str, tuple[type, ...]] = {
    "latency": (int, float),
    "error_status": (int,),
    "error_count": (int,),
    "timeout_count": (int,),
    "hang_seconds": (int, float),
    "drop_count": (int,),
    "alter_count": (int,),
    "alter_fields": (dict,),
}


# -- the emulator ----------------------------------------------------------------------------


class ControllerEmulator:
    """A zerotier-one 1.14 controller API on ``host:port`` with its state in ``home``.

    The identity, token and stored networks are loaded (or created) in the constructor, so
    :attr:`address` and :attr:`token` are known before :meth:`start`.
    """

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
        self.address = _load_identity(self.home)
        self._token = _load_token(self.home, token)
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
        self.store = _Store(self.home / "controller.d")
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> ControllerEmulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self.host, self._port), _Handler, self)
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
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("start the emulator first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def token(self) -> str:
        return self._token

    def set_token(self, token: str) -> None:
        """Rotate the API token (rewrites ``authtoken.secret``), as a restart with a new file."""
        with self.lock:
            _write_atomic(self.home / "authtoken.secret", token, mode=0o600)
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
                elif key in _FAULT_TYPES and isinstance(value, _FAULT_TYPES[key]):
                    if isinstance(value, bool):
                        raise ValueError(f"{key}: expected a number")
                    setattr(self.faults, key, value)
                else:
                    raise ValueError(f"{key}: unknown knob or wrong type")

    # -- read-only views for tests ---------------------------------------------------------

    def network(self, nwid: str) -> Json | None:
        with self.lock:
            network = self.store.networks.get(nwid)
            return _copy(network) if network else None

    def member(self, nwid: str, node_id: str) -> Json | None:
        with self.lock:
            member = self.store.members.get(nwid, {}).get(node_id)
            return _copy(member) if member else None

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


# -- HTTP ------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        emulator: ControllerEmulator,
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
        ("network", rf"/controller/network/({_HEX16})"),
        ("network_create_old", rf"/controller/network/({_HEX10})______"),
        ("member_list", rf"/controller/network/({_HEX16})/member"),
        ("member_list2", rf"/unstable/controller/network/({_HEX16})/member"),
        ("member", rf"/controller/network/({_HEX16})/member/({_HEX10})"),
    ]
]
_NO_DATABASE_ROUTES = {"status", "health", "controller"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like cpp-httplib
    # Headers and body go out in two writes; with Nagle on, a keep-alive client waits for
    # its delayed ACK (~40 ms) on every request.
    disable_nagle_algorithm = True
    server_version = "libzt"
    sys_version = ""
    server: _Server
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
    def emulator(self) -> ControllerEmulator:
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
        except _ServerError as exc:
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
            "clock": _now_ms(),
            "config": {"settings": {"primaryPort": emu.port, "homeDir": str(emu.home)}},
            "planetWorldId": 149604618,
            "planetWorldTimestamp": 1644592324813,
        }

    def _health_get(self) -> Json:
        major, minor, rev = VERSION
        return {"online": True, "version": f"{major}.{minor}.{rev}", "clock": _now_ms()}

    def _controller_get(self) -> Json:
        ready = self.emulator.database_ready
        body = {"controller": True, "apiVersion": API_VERSION, "clock": _now_ms()}
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
            network = _copy(self.emulator.store.networks.get(nwid) or {})
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
            member = _copy(self.emulator.store.members.get(nwid, {}).get(mid) or {})
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
        raise _ServerError(f"[json.exception.parse_error.101] parse error: {exc}") from exc


def _dump_any(body: Any) -> str:
    if isinstance(body, dict):
        return _dump(body)
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


# -- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ZeroTier controller API emulator")
    parser.add_argument("--home", type=Path, required=True, help="state directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9993)
    parser.add_argument("--member-list-shape", choices=("map", "list"), default="map")
    parser.add_argument("--allow-management-from", action="append", default=[], metavar="CIDR")
    args = parser.parse_args(argv)
    token = os.environ.get("ZTIX_EMULATOR_TOKEN") or None
    emulator = ControllerEmulator(
        args.home,
        args.host,
        args.port,
        token,
        member_list_shape=cast(MemberListShape, args.member_list_shape),
        allow_management_from=args.allow_management_from,
    )
    emulator.run_forever()


if __name__ == "__main__":
    main()
