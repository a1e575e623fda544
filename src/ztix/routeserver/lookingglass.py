"""The looking glass: read-only ``birdc show route`` commands and their parser.

Commands come only from the builders here (an allow-list): a protocol name that matches
ZT-IX's own pattern, a table of ZT-IX's own, and a prefix parsed by ``ipaddress``; nothing
else reaches ``birdc``. The parser turns ``birdc -v show route ... all`` output (BIRD 2.0.12
and later) into :class:`Route` records and decodes ZT-IX's large communities into words: why
a route was filtered, its RPKI and IRR state.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal

from ztix.routeserver.policy_data import (
    BLACKHOLE,
    GRACEFUL_SHUTDOWN,
    INFO_IRR_FUNCTION,
    INFO_RPKI_FUNCTION,
    REJECT_FUNCTION,
    REJECT_REASON_TEXT,
    IrrInfo,
    RpkiInfo,
)
from ztix.routeserver.transport import BirdcReply

Kind = Literal["accepted", "filtered", "exported"]
KINDS: tuple[Kind, ...] = ("accepted", "filtered", "exported")

PROTOCOL = re.compile(r"AS[0-9]{1,10}_[0-9a-f]{10}_v[46]", re.ASCII)
NETWORK_NOT_FOUND = 8001

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class LookingGlassError(ValueError):
    """A command the allow-list refuses (never sent)."""


def _protocol(name: str) -> str:
    if not isinstance(name, str) or not PROTOCOL.fullmatch(name):
        raise LookingGlassError(f"not a ZT-IX session name: {name!r}")
    return name


def table_of(protocol: str) -> str:
    return f"ztix_rs{_protocol(protocol)[-1]}"


def routes_command(protocol: str, kind: Kind) -> tuple[str, ...]:
    """The routes ``protocol``'s member sent that were accepted or filtered, or the routes
    the route server sends it."""
    table = table_of(protocol)
    if kind == "accepted":
        return ("show", "route", "table", table, "protocol", protocol, "all")
    if kind == "filtered":
        return ("show", "route", "table", table, "protocol", protocol, "filtered", "all")
    if kind == "exported":
        return ("show", "route", "table", table, "export", protocol, "all")
    raise LookingGlassError(f"unknown kind {kind!r}")


def lookup_commands(protocol: str, prefix: IPNetwork) -> dict[Kind, tuple[str, ...]]:
    """One prefix (exact match): as received from the member (accepted, filtered) and as sent
    to it."""
    if not isinstance(prefix, ipaddress.IPv4Network | ipaddress.IPv6Network):
        raise LookingGlassError("the prefix must be a parsed network")
    table = table_of(protocol)
    if prefix.version != int(protocol[-1]):
        raise LookingGlassError(f"{prefix} is not an IPv{protocol[-1]} prefix")
    net = str(prefix)
    return {
        "accepted": ("show", "route", net, "table", table, "protocol", protocol, "all"),
        "filtered": ("show", "route", net, "table", table, "protocol", protocol, "filtered", "all"),
        "exported": ("show", "route", net, "table", table, "export", protocol, "all"),
    }


# --- the parser ------------------------------------------------------------------------


@dataclass
class Route:
    prefix: str
    protocol: str
    primary: bool
    since: str
    preference: int | None = None
    next_hop: str | None = None
    as_path: tuple[int, ...] = ()
    origin: str | None = None
    local_pref: int | None = None
    med: int | None = None
    communities: tuple[tuple[int, int], ...] = ()
    large_communities: tuple[tuple[int, int, int], ...] = ()
    reject_codes: tuple[int, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict, repr=False)

    def reasons(self) -> list[str]:
        """Why the route was filtered, in words (empty for an accepted route)."""
        return [REJECT_REASON_TEXT.get(c, f"reject code {c}") for c in self.reject_codes]

    @property
    def blackhole(self) -> bool:
        return BLACKHOLE in self.communities

    @property
    def graceful_shutdown(self) -> bool:
        return GRACEFUL_SHUTDOWN in self.communities


_ROUTE = re.compile(
    r"^(?P<prefix>\S+)?\s+(?P<type>unicast|blackhole|unreachable|prohibited)\s+"
    r"\[(?P<protocol>\S+)\s+(?P<since>[^\]]*)\](?P<primary>\s+\*)?"
    r"(?:\s+\((?P<pref>\d+)(?:/\S+)?\))?"
)
_VIA = re.compile(r"^\s*via\s+(?P<gw>\S+)")
_ATTRIBUTE = re.compile(r"^\s*(?P<key>[A-Za-z][\w.]*):\s*(?P<value>.*?)\s*$")
_PAIR = re.compile(r"\((\d+),\s*(\d+)\)")
_TRIPLE = re.compile(r"\((\d+),\s*(\d+),\s*(\d+)\)")


def parse_routes(reply: BirdcReply) -> list[Route]:
    """Every route in a ``birdc -v show route ... all`` reply ("Network not found" is an
    empty list)."""
    routes: list[Route] = []
    current: Route | None = None
    prefix = ""
    for code, text in reply.lines:
        if code == 1007:
            if text.startswith("Table "):
                continue
            match = _ROUTE.match(text)
            if match:
                prefix = match.group("prefix") or prefix
                current = Route(
                    prefix=prefix,
                    protocol=match.group("protocol"),
                    primary=bool(match.group("primary")),
                    since=match.group("since").strip(),
                    preference=int(match.group("pref")) if match.group("pref") else None,
                )
                routes.append(current)
                continue
            via = _VIA.match(text)
            if via and current is not None and current.next_hop is None:
                current.next_hop = via.group("gw")
        elif code in (1008, 1012) and current is not None:
            attribute = _ATTRIBUTE.match(text)
            if attribute:
                _attribute(current, attribute.group("key"), attribute.group("value"))
    return routes


def _attribute(route: Route, key: str, value: str) -> None:
    route.attributes[key] = value
    if key == "BGP.as_path":
        route.as_path = tuple(int(a) for a in re.findall(r"\d+", value))
    elif key == "BGP.next_hop":
        route.next_hop = value.split()[0] if value else route.next_hop
    elif key == "BGP.origin":
        route.origin = value
    elif key == "BGP.local_pref" and value.isdigit():
        route.local_pref = int(value)
    elif key == "BGP.med" and value.isdigit():
        route.med = int(value)
    elif key == "BGP.community":
        route.communities = tuple((int(a), int(b)) for a, b in _PAIR.findall(value))
    elif key == "BGP.large_community":
        route.large_communities = tuple(
            (int(a), int(b), int(c)) for a, b, c in _TRIPLE.findall(value)
        )


def decode(route: Route, rs_asn: int) -> None:
    """Fill ``reject_codes`` from the route server's reject communities."""
    route.reject_codes = tuple(
        c for a, f, c in route.large_communities if a == rs_asn and f == REJECT_FUNCTION
    )


_RPKI_TEXT: dict[int, str] = {
    RpkiInfo.VALID: "valid",
    RpkiInfo.UNKNOWN: "unknown",
    RpkiInfo.NOT_CHECKED: "not checked",
    RpkiInfo.INVALID: "invalid",
}
_IRR_TEXT: dict[int, str] = {
    IrrInfo.ORIGIN_IN_AS_SET: "origin in AS-SET",
    IrrInfo.ORIGIN_NOT_CHECKED: "origin not checked",
    IrrInfo.PREFIX_IN_AS_SET: "prefix in AS-SET",
    IrrInfo.PREFIX_NOT_CHECKED: "prefix not checked",
}


def rpki_state(route: Route, rs_asn: int) -> str | None:
    for a, f, v in route.large_communities:
        if a == rs_asn and f == INFO_RPKI_FUNCTION:
            return _RPKI_TEXT.get(v)
    return None


def irr_state(route: Route, rs_asn: int) -> list[str]:
    return [
        _IRR_TEXT[v]
        for a, f, v in route.large_communities
        if a == rs_asn and f == INFO_IRR_FUNCTION and v in _IRR_TEXT
    ]


def not_found(reply: BirdcReply) -> bool:
    return NETWORK_NOT_FOUND in reply.codes
