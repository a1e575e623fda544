"""Every community the rendered route-server configuration honours or sets is in the tables
of docs/route-servers.md ("Communities"), in the form the docs write it (issue 16)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from tests.support import routeserver_samples as samples
from ztix.routeserver.render import render

DOCS = Path(__file__).resolve().parents[3] / "docs" / "route-servers.md"


def community_tables() -> str:
    """The table rows of the Communities section (up to the next top-level section)."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("\n## Communities\n", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def rendered(asn: int) -> str:
    desired = samples.features()
    desired = dataclasses.replace(desired, server=dataclasses.replace(desired.server, asn=asn))
    return "\n".join(render(desired).values())


def documented(config: str) -> set[str]:
    """The communities ``config`` uses, written as the docs write them."""
    found: set[str] = set()
    functions = {"REJECT": 65520, "RPKI": 1000, "IRR": 1001}
    for kind, value in re.findall(r"define ZTIX_(REJECT|RPKI|IRR)_\w+ = (\d+);", config):
        found.add(f"`rs_asn:{functions[kind]}:{value}`")
    for a, b in re.findall(r"define ZTIX_\w+ = \((\d+), (\d+)\);", config):
        found.add(f"`{a}:{b}`")
    # Large communities matched or added in the filters: (ZTIX_RS_ASN, <function>, <value>).
    for function, value in re.findall(r"\(ZTIX_RS_ASN, (\d+), (peer_as|0)\)", config):
        found.add(f"`rs_asn:{function}:{value}`")
    # Standard export-control forms (16-bit ASNs only).
    names = {"ZTIX_RS_ASN": "rs_asn", "peer_as": "peer_as", "0": "0"}
    for a, b in re.findall(r"\((0|ZTIX_RS_ASN), (peer_as|ZTIX_RS_ASN)\) ~ bgp_community", config):
        found.add(f"`{names[a]}:{names[b]}`")
    return found


@pytest.mark.parametrize("asn", [64500, 4200000001], ids=["16-bit", "32-bit"])
def test_every_community_in_the_configuration_is_documented(asn: int) -> None:
    config = rendered(asn)
    used = documented(config)
    # The extraction itself found the scheme (not an empty set that passes trivially).
    assert {"`rs_asn:65520:16`", "`65535:666`", "`65535:65281`", "`rs_asn:0:peer_as`"} <= used
    tables = community_tables()
    missing = sorted(c for c in used if c not in tables)
    assert not missing, f"not in docs/route-servers.md's community tables: {missing}"
