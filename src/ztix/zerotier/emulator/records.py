"""The controller's records as zerotier-one 1.14 makes them: ``OSUtils`` coercion, address
parsing, flow rules, and the network and member POST handlers (``DB::initNetwork``,
``initMember``, ``EmbeddedNetworkController``). Pure functions over JSON dicts.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

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

HEX10 = r"[0-9a-fA-F]{10}"
HEX16 = r"[0-9a-fA-F]{16}"


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


def now_ms() -> int:
    return int(time.time() * 1000)


def init_network(network: Json) -> None:
    defaults: Json = {
        "private": True,
        "creationTime": now_ms(),
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
        "creationTime": now_ms(),
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


class ServerError(Exception):
    """An exception inside a handler: OneService answers 500 with a description."""


def _member_ips(value: list[Any]) -> list[str]:
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            # `std::string ips = ipa[i];` throws nlohmann's type_error.302.
            kind = "number" if _is_number(item) else type(item).__name__
            raise ServerError(f"[json.exception.type_error.302] type must be string, but is {kind}")
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
            member["lastAuthorizedTime" if new_auth else "lastDeauthorizedTime"] = now_ms()
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
