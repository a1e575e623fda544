"""Member routers and route reading for the live route-server feature tests (graceful
shutdown, drain, blackholing, limits, looking glass).

The lab itself (namespaces, bridge, BIRD processes) is ``tests.support.birdlab``; this
module builds member BIRD configurations and reads routes back from any BIRD of the lab.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.birdlab import Bird, Lab, require_tools
from tests.support.waiting import wait_for
from ztix.routeserver.model import DesiredConfig, Peer
from ztix.routeserver.render import peer_protocols, render, render_host_config

MEMBER_TIMERS = """
	connect delay time 1;
	connect retry time 1;
	error wait time 1, 2;
"""


def member_config(
    peer: Peer,
    rs4: str,
    routes4: str,
    *,
    password: str | None = None,
    rs6: str | None = None,
    routes6: str = "",
) -> str:
    """A member router: IPv4 static routes (with per-route attributes) exported to the RS;
    with ``rs6`` (and an IPv6 address) an IPv6 session exporting ``routes6`` too."""
    secret = f'password "{password}";' if password else ""
    v6 = ""
    if rs6 is not None and peer.ipv6 is not None:
        v6 = f"""
protocol static static6 {{
	ipv6;
{routes6}
}}
protocol bgp rs_v6 {{
	local {peer.ipv6} as {peer.asn};
	neighbor {rs6} as {{rs_asn}};
	{secret}
{MEMBER_TIMERS}
	ipv6 {{ import all; export all; }};
}}
"""
    return (
        f"""
router id {peer.ipv4};
log stderr all;
protocol device {{ }}
protocol static static4 {{
	ipv4;
{routes4}
}}
protocol bgp rs_v4 {{
	local {peer.ipv4} as {peer.asn};
	neighbor {rs4} as {{rs_asn}};
	{secret}
{MEMBER_TIMERS}
	ipv4 {{ import all; export all; }};
}}
"""
        + v6
    )


def routes(*entries: tuple[str, str]) -> str:
    """Static routes: (prefix, BIRD statements run on the route)."""
    return "\n".join(
        f"\troute {prefix} blackhole{f' {{ {extra} }}' if extra else ''};"
        for prefix, extra in entries
    )


def std(*pairs: tuple[int, int]) -> str:
    return " ".join(f"bgp_community.add(({a}, {b}));" for a, b in pairs)


def prepend(*asns: int) -> str:
    return " ".join(f"bgp_path.prepend({a});" for a in reversed(asns))


def route_blocks(output: str, prefix: str) -> list[str]:
    """Every route of ``prefix`` in `show route ... all` output (the first line names the
    prefix, the others start with spaces)."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith(prefix + " "):
            current = [line]
            blocks.append(current)
        elif current is not None and line[:1].isspace():
            # A second route of the same prefix starts with spaces and "unicast [".
            if re.match(r"\s+unicast \[", line) or re.match(r"\s+blackhole \[", line):
                current = [f"{prefix} {line.strip()}"]
                blocks.append(current)
            else:
                current.append(line)
        else:
            current = None
    return ["\n".join(b) for b in blocks]


def show_route(bird: Bird, prefix: str, *options: str) -> str:
    """The best (first) route of one prefix from `show route ... all`; "" when absent."""
    family = 6 if ":" in prefix else 4
    table = [] if bird.name != "rs" else ["table", f"ztix_rs{family}"]
    out = bird.birdc("show", "route", prefix, *table, *options, "all", check=False)
    blocks = route_blocks(out, prefix)
    return blocks[0] if blocks else ""


def communities(block: str) -> set[tuple[int, int]]:
    found = re.search(r"BGP\.community:\s*(.*)", block)
    if not found:
        return set()
    return {(int(a), int(b)) for a, b in re.findall(r"\((\d+),(\d+)\)", found.group(1))}


def large_communities(block: str) -> set[tuple[int, ...]]:
    found = re.search(r"BGP\.large_community:\s*(.*)", block)
    if not found:
        return set()
    return {tuple(map(int, m)) for m in re.findall(r"\((\d+), (\d+), (\d+)\)", found.group(1))}


def write_rs_files(desired: DesiredConfig, config_dir: Path) -> None:
    for name, text in render(desired).items():
        (config_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (config_dir / name).write_text(text)


def reconfigure(lab: Lab, desired: DesiredConfig) -> None:
    """Render ``desired`` over the running route server's files and `birdc configure`."""
    write_rs_files(desired, Path(desired.server.config_dir))
    out = lab.birds["rs"].birdc("configure", f'"{lab.workdir / "rs-bird.conf"}"')
    assert "Reconfigured" in out or "Reconfiguration in progress" in out, out


@contextmanager
def feature_lab(
    workdir: Path,
    desired: DesiredConfig,
    members: Mapping[str, tuple[Peer, str]],
    roas: Sequence[Mapping[str, object]],
    rtr_port: int,
    *,
    established: Sequence[str] | None = None,
) -> Iterator[Lab]:
    """Start StayRTR, the route server of ``desired`` and one BIRD per member (name →
    (peer, config text with ``{rs_asn}`` unformatted)); wait for the sessions named in
    ``established`` (default: every member's)."""
    require_tools()
    server = desired.server
    write_rs_files(desired, Path(server.config_dir))
    host_conf = workdir / "rs-bird.conf"
    host_conf.write_text(render_host_config(server, log_file=str(workdir / "rs.log")))
    roa_file = workdir / "roas.json"
    roa_file.write_text(json.dumps({"roas": list(roas)}))
    with Lab(workdir) as lab:
        rs_ns = lab.namespace("rs")
        len4, len6 = server.ipv4_prefix.prefixlen, server.ipv6_prefix.prefixlen
        dual = any(peer.ipv6 is not None for peer, _text in members.values())
        lab.bridge(rs_ns, [f"{server.ipv4}/{len4}"] + ([f"{server.ipv6}/{len6}"] if dual else []))
        lab.stayrtr(rs_ns, roa_file, rtr_port)
        for name, (peer, _text) in members.items():
            v6 = [f"{peer.ipv6}/{len6}"] if peer.ipv6 is not None else []
            lab.attach(lab.namespace(name), rs_ns, [f"{peer.ipv4}/{len4}", *v6])
        rs = lab.bird_from("rs", rs_ns, host_conf)
        for v in server.validators:
            rtr = f"ztix_rpki_{v.name}"
            wait_for(f"the RTR session {rtr}", lambda rtr=rtr: rs.established(rtr), 20)
        for name, (_peer, text) in members.items():
            lab.bird(name, f"{lab.tag}-{name}", text.replace("{rs_asn}", str(server.asn)))
        wanted = (
            list(established)
            if established is not None
            else [p for peer, _ in members.values() for p in peer_protocols(peer)[:1]]
        )
        wait_for(
            "the members' sessions Established",
            lambda: all(rs.established(name) for name in wanted),
            30,
        )
        yield lab
