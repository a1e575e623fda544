"""Fixed desired states for the renderer tests (golden files, `bird -p` at scale)."""

from __future__ import annotations

import dataclasses
import ipaddress as ip

from ztix.routeserver.model import (
    Blackholing,
    DesiredConfig,
    Peer,
    Policy,
    RouteServer,
    RpkiValidator,
)


def server(config_dir: str = "/etc/bird/ztix", **overrides: object) -> RouteServer:
    fields: dict[str, object] = {
        "name": "rs1-fra",
        "asn": 64500,
        "router_id": ip.IPv4Address("192.0.2.1"),
        "ipv4": ip.IPv4Address("192.0.2.1"),
        "ipv6": ip.IPv6Address("2001:db8:ab::1"),
        "ipv4_prefix": ip.IPv4Network("192.0.2.0/24"),
        "ipv6_prefix": ip.IPv6Network("2001:db8:ab::/64"),
        "config_dir": config_dir,
        "validators": (
            RpkiValidator("routinator", ip.IPv6Address("2001:db8:ff::10"), 3323),
            RpkiValidator("stayrtr", "rtr.example.net", 8282, 600, 120, 3600),
        ),
        "never_via_route_servers": (6939, 174, 3356, 174),
    }
    fields.update(overrides)
    return RouteServer(**fields)  # type: ignore[arg-type]


def basic_peers() -> tuple[Peer, ...]:
    return (
        # Dual stack, IRR data for IPv4 and the origins, none for IPv6 (empty AS-SET part).
        Peer(
            request_id="6f1c9a52-0000-4000-8000-000000000001",
            asn=213035,
            node_id="abcdef0123",
            ipv4=ip.IPv4Address("192.0.2.10"),
            ipv6=ip.IPv6Address("2001:db8:ab::21:3035:1"),
            max_prefix_ipv4=125,
            max_prefix_ipv6=62,
            irr_prefixes_ipv4=(
                ip.IPv4Network("193.0.0.0/21"),
                ip.IPv4Network("185.1.0.0/24"),
                ip.IPv4Network("193.0.0.0/21"),
            ),
            irr_prefixes_ipv6=(),
            irr_origins=(213035, 3333, 12654),
            description='AS213035 "evil"; };\nprotocol bgp injected {',
        ),
        # IPv4 only, no IRR data: the IRR checks are skipped and the route tagged so.
        Peer(
            request_id="6f1c9a52-0000-4000-8000-000000000002",
            asn=13335,
            node_id="0123456789",
            ipv4=ip.IPv4Address("192.0.2.11"),
            ipv6=None,
            max_prefix_ipv4=1000,
            max_prefix_ipv6=100,
        ),
        # IPv6 only, second node of a 32-bit ASN.
        Peer(
            request_id="6f1c9a52-0000-4000-8000-000000000003",
            asn=4200000000 - 1,
            node_id="fedcba9876",
            ipv4=None,
            ipv6=ip.IPv6Address("2001:db8:ab::4199:9999:1"),
            max_prefix_ipv4=10,
            max_prefix_ipv6=10,
            irr_prefixes_ipv6=(
                ip.IPv6Network("2a0e:b107::/32"),
                ip.IPv6Network("2a0e:b107:1::/64"),
            ),
        ),
    )


def basic() -> DesiredConfig:
    return DesiredConfig(server=server(), peers=basic_peers())


def asn32_tag() -> DesiredConfig:
    """A 32-bit route-server ASN (large communities only) and the RPKI "tag" policy."""
    return DesiredConfig(
        server=server(
            name="rs2",
            asn=4_200_000_001,
            validators=(RpkiValidator("rpki_client", ip.IPv4Address("127.0.0.1"), 3323),),
            policy=Policy(
                receive_limit_action="block",
                ipv4_max_length=23,
                ipv6_min_length=16,
                max_as_path_length=64,
                import_limit_action="disable",
                rpki_invalid="tag",
            ),
        ),
        peers=basic_peers()[:2],
    )


def irr_tag() -> DesiredConfig:
    """IRR policy switches off their defaults: origin and prefix "tag", exact route objects
    only, RPKI-valid not counted as IRR-valid."""
    return DesiredConfig(
        server=server(
            name="rs3",
            policy=Policy(
                irr_prefix="tag",
                irr_origin="tag",
                rpki_valid_is_irr_valid=False,
                irr_more_specifics=False,
            ),
        ),
        peers=basic_peers(),
    )


def features() -> DesiredConfig:
    """A drained server on a network with blackholing and both blackhole next hops; one
    member without IRR data has covering ROAs."""
    return DesiredConfig(
        server=server(
            drained=True,
            blackholing=Blackholing(
                True, ip.IPv4Address("192.0.2.66"), ip.IPv6Address("2001:db8:ab::666")
            ),
        ),
        peers=(
            dataclasses.replace(
                basic_peers()[0],
                receive_limit_ipv4=250,
                receive_limit_ipv6=124,
                password="Md5.key+42=ok",
                # Ignored on IPv4, where its IRR route objects decide.
                blackhole_roas_ipv4=((213035, ip.IPv4Network("193.0.0.0/21")),),
            ),
            # No IRR data: covering ROAs (of two origins on IPv4) entitle its blackholes.
            dataclasses.replace(
                basic_peers()[1],
                blackhole_roas_ipv4=(
                    (13335, ip.IPv4Network("104.16.0.0/13")),
                    (13335, ip.IPv4Network("104.24.0.0/14")),
                    (209242, ip.IPv4Network("172.64.0.0/13")),
                ),
                blackhole_roas_ipv6=((13335, ip.IPv6Network("2606:4700::/32")),),
            ),
            *basic_peers()[2:],
        ),
    )


def minimal() -> DesiredConfig:
    """No RTR validator, no never-via-route-servers ASN, one IPv4-only peer."""
    return DesiredConfig(
        server=server(validators=(), never_via_route_servers=()), peers=basic_peers()[1:2]
    )


def members(count: int, config_dir: str) -> DesiredConfig:
    """``count`` dual-stack members on a /20 peering LAN, each with a few IRR prefixes."""
    lan4 = ip.IPv4Network("100.64.0.0/20")
    peers = tuple(
        Peer(
            request_id=f"00000000-0000-4000-8000-{i:012d}",
            asn=200000 + i,
            node_id=f"{0x1000000000 + i:010x}",
            ipv4=lan4[10 + i],
            ipv6=ip.IPv6Address(f"2001:db8:ab::20:{i:x}:1"),
            max_prefix_ipv4=100 + i,
            max_prefix_ipv6=50,
            irr_prefixes_ipv4=tuple(
                ip.IPv4Network(f"{20 + i % 200}.{i // 200}.{k}.0/24") for k in range(3)
            ),
            irr_prefixes_ipv6=(ip.IPv6Network(f"2a0e:{i:x}::/32"),),
            irr_origins=(200000 + i, 3333),
        )
        for i in range(count)
    )
    return DesiredConfig(
        server=server(
            config_dir,
            ipv4=lan4[1],
            router_id=lan4[1],
            ipv4_prefix=lan4,
        ),
        peers=peers,
    )
