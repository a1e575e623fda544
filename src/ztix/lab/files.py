"""The files a lab writes: ZT-IX's configuration, the route servers' and members' bird.conf,
and the ROA file StayRTR serves."""

from __future__ import annotations

import ipaddress
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from ztix.lab.plan import LAN4, LAN6, NETWORK_SUFFIX, RS_ASN, Member, Plan, Server
from ztix.routeserver.embedded import PLACEHOLDER
from ztix.routeserver.model import RouteServer
from ztix.routeserver.render import render_host_config

BIRD = shutil.which("bird") or "/usr/sbin/bird"
BIRDC = shutil.which("birdc") or "/usr/sbin/birdc"
STAYRTR = shutil.which("stayrtr") or "/usr/bin/stayrtr"

# Members' routers retry fast: a session dialled before its route server knows the peer
# would otherwise wait BIRD's default 120 s before the next try.
MEMBER_TIMERS = "\tconnect delay time 1;\n\tconnect retry time 2;\n\terror wait time 1, 2;\n"


def config_file(plan: Plan) -> Path:
    return plan.root / "ztix.yaml"


def server_dir(plan: Plan, rs: Server) -> Path:
    return plan.root / rs.name


def member_dir(plan: Plan, member: Member) -> Path:
    return plan.root / member.name


def ztix_config(plan: Plan) -> dict[str, Any]:
    """ZT-IX's runtime configuration for the lab (the embedded default's shape)."""
    root = plan.root
    servers = [
        {
            "name": rs.name,
            "transport": "local",
            "host": rs.name,
            "birdc": BIRDC,
            "birdc_socket": str(server_dir(plan, rs) / "bird.ctl"),
            "config_dir": str(server_dir(plan, rs) / "ztix" / "live"),
            "main_config": str(server_dir(plan, rs) / "bird.conf"),
            "asn": RS_ASN,
            "router_id": str(rs.ipv4),
            "network": NETWORK_SUFFIX,
            "ipv4": str(rs.ipv4),
            "ipv6": str(rs.ipv6),
            "pair_order": rs.pair_order,
            "configure_timeout_seconds": 30,
        }
        for rs in plan.servers
    ]
    config: dict[str, Any] = {
        "environment": "development",
        "database_url": f"sqlite:///{root / 'ztix.sqlite3'}",
        "server": {"host": "127.0.0.1", "port": plan.http_port},
        "peeringdb": {"enabled": False},
        "workflow": {"approval_mode": "manual_admin"},
        "networks": [
            {
                "suffix": NETWORK_SUFFIX,
                "name": "ZT-IX Lab",
                "description": "make lab: network namespaces and a bridge on this machine",
                "ipv4_prefix": str(LAN4),
                "ipv6_prefix": str(LAN6),
                "reserved_addresses": [],
            }
        ],
        "zerotier": {
            "controller": {
                "url": f"http://127.0.0.1:{plan.controller_port}",
                "token_file": str(root / "zerotier" / "authtoken.secret"),
                "embedded_emulator": True,
                "emulator_home": str(root / "zerotier"),
            }
        },
        "jobs": {"reconcile_interval_seconds": 5},
        "routeservers": {
            "servers": servers,
            "rpki_validators": [
                {
                    "name": "lab",
                    "host": "127.0.0.1",
                    "port": plan.rtr_port,
                    "refresh_seconds": 60,
                    "retry_seconds": 5,
                    "expire_seconds": 3600,
                }
            ],
            "status_cache_seconds": 2,
            "embedded": {"enabled": False},
        },
        # No PeeringDB in the lab: a closed local port fails at once and defaults apply.
        "peeringdb_api": {"base_url": "http://127.0.0.1:9/api", "timeout_seconds": 1},
        "logging": {"level": "WARNING"},
    }
    config.update(plan.extra_config)
    return config


def write_ztix_config(plan: Plan) -> Path:
    path = config_file(plan)
    path.write_text(
        "# Written by `ztix lab up`; removed by `ztix lab down`.\n"
        + yaml.safe_dump(ztix_config(plan), sort_keys=False),
        encoding="utf-8",
    )
    return path


def write_server(plan: Plan, rs: Server) -> Path:
    """A route server's directory: its bird.conf (including ZT-IX's file) and a placeholder
    ztix.conf until ZT-IX's first apply. Returns the bird.conf."""
    home = server_dir(plan, rs)
    live = home / "ztix" / "live"
    live.mkdir(parents=True, exist_ok=True)
    (live / "ztix.conf").write_text(PLACEHOLDER, encoding="utf-8")
    model = RouteServer(
        name=rs.name,
        asn=RS_ASN,
        router_id=rs.ipv4,
        ipv4=rs.ipv4,
        ipv6=rs.ipv6,
        ipv4_prefix=LAN4,
        ipv6_prefix=LAN6,
        config_dir=str(live),
    )
    main = home / "bird.conf"
    main.write_text(render_host_config(model, log_file=str(home / "bird.log")), encoding="utf-8")
    return main


def write_roas(plan: Plan) -> Path:
    path = plan.root / "roas.json"
    roas = [{"prefix": r.prefix, "maxLength": r.max_length, "asn": f"AS{r.asn}"} for r in plan.roas]
    path.write_text(json.dumps({"roas": roas}, indent=2) + "\n", encoding="utf-8")
    return path


def member_bird_conf(
    plan: Plan,
    member: Member,
    ipv4: ipaddress.IPv4Address,
    ipv6: ipaddress.IPv6Address | None,
) -> str:
    """A member's router: its routes as static blackholes, one session per route server
    and address family."""
    home = member_dir(plan, member)
    v4 = [r.prefix for r in member.routes if ":" not in r.prefix]
    v6 = [r.prefix for r in member.routes if ":" in r.prefix]
    lines = [
        f"# Member AS{member.asn} ({member.name}) of the ZT-IX lab. Written by `ztix lab up`.",
        f"router id {ipv4};",
        f'log "{home / "bird.log"}" all;',
        "timeformat protocol iso long;",
        "protocol device {}",
        "protocol static static4 {\n\tipv4;",
        *(f"\troute {p} blackhole;" for p in v4),
        "}",
    ]
    if ipv6 is not None:
        lines += ["protocol static static6 {\n\tipv6;", *(f"\troute {p} blackhole;" for p in v6)]
        lines.append("}")
    for rs in plan.servers:
        sessions = [(4, ipv4, rs.ipv4)] + ([(6, ipv6, rs.ipv6)] if ipv6 is not None else [])
        for family, local, neighbor in sessions:
            lines += [
                f"protocol bgp {rs.name}_v{family} {{",
                f"\tlocal {local} as {member.asn};",
                f"\tneighbor {neighbor} as {RS_ASN};",
                MEMBER_TIMERS.rstrip("\n"),
                f"\tipv{family} {{ import all; export all; }};",
                "}",
            ]
    return "\n".join(lines) + "\n"
