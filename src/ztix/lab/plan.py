"""What a lab holds: route servers, member routers and the routes each announces."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from ztix.routeserver.policy_data import RejectReason

LAN4 = ipaddress.IPv4Network("192.0.2.0/24")
LAN6 = ipaddress.IPv6Network("2001:db8:ab::/64")
RS_ASN = 64500
NETWORK_SUFFIX = "00000a"


@dataclass(frozen=True)
class Route:
    """A prefix a member announces, and what the route servers' policy must make of it."""

    prefix: str
    # None: accepted; otherwise the reason it is filtered.
    rejected: RejectReason | None = None
    note: str = ""


@dataclass(frozen=True)
class Member:
    name: str  # [a-z]+, names its namespace and its BIRD
    asn: int
    node_id: str  # its (pretend) ZeroTier node
    routes: tuple[Route, ...]

    @property
    def username(self) -> str:
        return f"noc-{self.name}"


@dataclass(frozen=True)
class Server:
    name: str
    ipv4: ipaddress.IPv4Address
    ipv6: ipaddress.IPv6Address
    pair_order: int


@dataclass(frozen=True)
class Roa:
    prefix: str
    max_length: int
    asn: int


@dataclass(frozen=True)
class Plan:
    """One lab: where its files go, the prefix of its namespaces, its ports and parts."""

    root: Path  # every file of the lab; removed by `down`
    prefix: str  # namespace and link names start with it (<= 7 characters)
    http_port: int
    controller_port: int
    servers: tuple[Server, ...]
    members: tuple[Member, ...]
    roas: tuple[Roa, ...]
    rtr_port: int = 3323  # StayRTR on each route server's own loopback
    admin_username: str = "lab-admin"
    extra_config: dict[str, object] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


def server(n: int) -> Server:
    return Server(f"rs{n}", LAN4[n], LAN6[n], n - 1)


ALPHA = Member(
    "alpha",
    213035,
    "a1a1a1a1a1",
    (
        Route("193.0.0.0/21", note="RPKI valid"),
        Route("193.0.10.0/24", note="RPKI unknown"),
        Route("193.0.8.0/23", RejectReason.RPKI_INVALID, "ROA for AS3333"),
        Route("203.0.113.0/24", RejectReason.BOGON, "TEST-NET-3"),
        Route("193.0.12.0/25", RejectReason.PREFIX_LENGTH, "/25 is too long"),
        Route("2001:67c:2e8::/48", note="RPKI valid"),
        Route("2001:db8:1::/48", RejectReason.BOGON, "documentation prefix"),
    ),
)
BRAVO = Member(
    "bravo",
    13335,
    "b2b2b2b2b2",
    (
        Route("1.1.1.0/24", note="RPKI valid"),
        Route("104.16.0.0/24", note="RPKI unknown"),
        Route("104.20.0.0/24", RejectReason.RPKI_INVALID, "ROA for AS209242"),
        Route("10.0.0.0/8", RejectReason.BOGON, "RFC 1918"),
    ),
)
CHARLIE = Member(
    "charlie",
    3320,
    "c3c3c3c3c3",
    (
        Route("80.156.0.0/24", note="RPKI valid"),
        Route("80.157.0.0/25", RejectReason.PREFIX_LENGTH, "/25 is too long"),
        Route("192.168.0.0/24", RejectReason.BOGON, "RFC 1918"),
    ),
)
ROAS = (
    Roa("193.0.0.0/21", 21, 213035),
    Roa("193.0.8.0/23", 23, 3333),
    Roa("2001:67c:2e8::/48", 48, 213035),
    Roa("1.1.1.0/24", 24, 13335),
    Roa("104.20.0.0/24", 24, 209242),
    Roa("80.156.0.0/16", 24, 3320),
)


def full(root: Path, http_port: int = 8000, controller_port: int = 19993) -> Plan:
    """`make lab`: two route servers (a pair) and three member routers."""
    return Plan(
        root=root,
        prefix="ztlab",
        http_port=http_port,
        controller_port=controller_port,
        servers=(server(1), server(2)),
        members=(ALPHA, BRAVO, CHARLIE),
        roas=ROAS,
    )


def small(root: Path, prefix: str, http_port: int, controller_port: int) -> Plan:
    """The e2e test's lab: one route server and two members."""
    return Plan(
        root=root,
        prefix=prefix,
        http_port=http_port,
        controller_port=controller_port,
        servers=(server(1),),
        members=(ALPHA, BRAVO),
        roas=ROAS,
    )
