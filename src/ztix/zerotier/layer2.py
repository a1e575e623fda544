"""The layer-2 settings of an IX network on a ZeroTier controller (DESIGN §3), and drift.

Pure: no I/O. :func:`desired_network` is the body ZT-IX posts for a declared network;
:func:`drift` names every field where a network, as the controller returns it, differs from
that body. The controller's defaults are wrong for an IX, hence each setting:

- ``private: true``: only members ZT-IX authorized may join.
- ``mtu: 1500``: the default 2800 black-holes packets larger than a member's path allows.
- ``routes`` for both peering prefixes: the controller silently drops a static address no
  managed route covers.
- every ZeroTier assignment mode off: ZT-IX hands out addresses, not ZeroTier.
- ``multicastLimit`` as configured (default 32): 0 would cut ARP and neighbour discovery.
- flow rules that accept only IPv4, ARP and IPv6 frames. In the rules language that is
  ``drop not ethertype ipv4 and not ethertype arp and not ethertype ipv6; accept;``, which the
  controller stores as consecutive MATCH rules (ANDed: ``or`` false) before an action.

Actions are stored as ``{"type": ...}`` alone, matches with ``not``/``or`` flags; the
controller's own default rule carries ``not``/``or`` on an action too. Comparison therefore
treats a missing flag as false.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from ztix.config import NetworkConfig
from ztix.domain.controller import MANAGED_FIELDS, Change

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_IPV6 = 0x86DD
IX_MTU = 1500
IX_ETHERTYPES = (ETHERTYPE_IPV4, ETHERTYPE_ARP, ETHERTYPE_IPV6)

_V6_MODES = ("zt", "rfc4193", "6plane")


def ix_rules() -> list[dict[str, Any]]:
    """Accept IPv4, ARP and IPv6 frames; drop every other EtherType."""
    matches: list[dict[str, Any]] = [
        {"type": "MATCH_ETHERTYPE", "not": True, "or": False, "etherType": ethertype}
        for ethertype in IX_ETHERTYPES
    ]
    return [*matches, {"type": "ACTION_DROP"}, {"type": "ACTION_ACCEPT"}]


def ix_routes(conf: NetworkConfig) -> list[dict[str, Any]]:
    """One managed route per peering prefix, on-link (no gateway)."""
    return [
        {"target": str(conf.ipv4_prefix), "via": None},
        {"target": str(conf.ipv6_prefix), "via": None},
    ]


def desired_network(conf: NetworkConfig) -> dict[str, Any]:
    """The body that makes a controller network an IX peering LAN. Strictly typed: the
    controller coerces wrong types silently, so nothing here may rely on coercion."""
    return {
        "name": conf.name,
        "private": True,
        "mtu": IX_MTU,
        "routes": ix_routes(conf),
        "v4AssignMode": {"zt": False},
        # The controller keeps only the keys it is sent: send all three.
        "v6AssignMode": {"zt": False, "rfc4193": False, "6plane": False},
        "multicastLimit": conf.multicast_limit,
        "rules": ix_rules(),
    }


def _route_key(route: Any) -> tuple[str, str]:
    if not isinstance(route, dict):
        return ("?", json.dumps(route, sort_keys=True))
    target, via = route.get("target"), route.get("via")
    try:
        target_text = str(ipaddress.ip_network(str(target), strict=False))
    except ValueError:
        target_text = str(target)
    return (target_text, "" if via is None else str(via))


def _rule(rule: Any) -> Any:
    if not isinstance(rule, dict):
        return rule
    return {"not": False, "or": False, **rule}


def normalize(field: str, value: Any) -> Any:
    """``value`` in a form where equal meaning compares equal (routes unordered, missing
    rule flags and assignment modes false). Unknown fields pass through unchanged."""
    if field == "routes":
        return sorted(_route_key(r) for r in value) if isinstance(value, list) else value
    if field == "rules":
        return [_rule(r) for r in value] if isinstance(value, list) else value
    if field == "v4AssignMode":
        return {"zt": value.get("zt") is True} if isinstance(value, dict) else value
    if field == "v6AssignMode":
        if not isinstance(value, dict):
            return value
        return {mode: value.get(mode) is True for mode in _V6_MODES}
    return value


def drift(actual: dict[str, Any], desired: dict[str, Any]) -> list[Change]:
    """Every field of ``desired`` that ``actual`` (a network as read back) lacks or differs in.

    Types count: ``"mtu": "1500"`` is not 1500, because ZT-IX only trusts what it reads back.
    """
    changes: list[Change] = []
    ordered = [f for f in MANAGED_FIELDS if f in desired] + [
        f for f in desired if f not in MANAGED_FIELDS
    ]
    for field in ordered:
        want = desired[field]
        if field not in actual:
            changes.append(Change(field, None, want))
            continue
        have = actual[field]
        if not _same(normalize(field, have), normalize(field, want)):
            changes.append(Change(field, have, want))
    return changes


def _same(a: Any, b: Any) -> bool:
    # json.dumps keeps bool and int apart (True == 1 in Python, not in JSON).
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def correction(changes: list[Change]) -> dict[str, Any]:
    """The body that sets exactly the drifted fields back; other settings stay untouched."""
    return {change.field: change.new for change in changes}
