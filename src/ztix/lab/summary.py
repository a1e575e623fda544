"""What the route servers say, read with birdc: each member's sessions, its routes accepted
and filtered, and why each filtered route was refused (the reject-reason large community the
templates set, docs/route-servers.md). A looking glass without the web app."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ztix.routeserver.policy_data import REJECT_FUNCTION, RejectReason

_LARGE = re.compile(r"\((\d+), (\d+), (\d+)\)")


@dataclass
class Session:
    server: str
    protocol: str
    state: str  # "Established", "Active", "Connect", ... ("" when BIRD has no such protocol)
    accepted: int = 0
    filtered: int = 0

    @property
    def established(self) -> bool:
        return self.state.startswith("Established")


@dataclass
class MemberView:
    asn: int
    name: str
    sessions: list[Session] = field(default_factory=list)
    # prefix -> reason, as filtered on the first route server.
    refused: dict[str, str] = field(default_factory=dict)


def birdc(birdc_path: str, socket: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - argv list; every part is ours
        [birdc_path, "-s", str(socket), *args],
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )
    return done.stdout if done.returncode == 0 else ""


def protocol_state(birdc_path: str, socket: Path, protocol: str) -> Session:
    """`show protocols all P`: its BGP state and its routes imported / filtered."""
    out = birdc(birdc_path, socket, "show", "protocols", "all", protocol)
    session = Session(server="", protocol=protocol, state="")
    for line in out.splitlines():
        cols = line.split()
        if cols and cols[0] == protocol:
            # Name Proto Table State Since Info; "Since" is two words with iso long.
            info = 6 if len(cols) > 4 and re.fullmatch(r"\d{4}-\d\d-\d\d", cols[4]) else 5
            session.state = " ".join(cols[info:])
        elif "Routes:" in line:
            counts = dict((kind, int(n)) for n, kind in re.findall(r"(\d+) (\w+)", line))
            session.accepted += counts.get("imported", 0)
            session.filtered += counts.get("filtered", 0)
    return session


def refused_routes(birdc_path: str, socket: Path, protocol: str, rs_asn: int) -> dict[str, str]:
    """The routes the server keeps filtered for ``protocol``, each with its reason's name."""
    family = 6 if protocol.endswith("_v6") else 4
    out = birdc(
        birdc_path,
        socket,
        "show",
        "route",
        "table",
        f"ztix_rs{family}",
        "protocol",
        protocol,
        "filtered",
        "all",
    )
    found: dict[str, str] = {}
    prefix = ""
    for line in out.splitlines():
        if line and not line[0].isspace() and "/" in line.split()[0]:
            prefix = line.split()[0]
            found.setdefault(prefix, "filtered (no reason tag)")
        elif prefix and "BGP.large_community:" in line:
            for asn, function, code in _LARGE.findall(line):
                if int(asn) == rs_asn and int(function) == REJECT_FUNCTION:
                    found[prefix] = reason_name(int(code))
    return found


def reason_name(code: int) -> str:
    try:
        return RejectReason(code).name.lower().replace("_", " ")
    except ValueError:
        return f"reason {code}"
