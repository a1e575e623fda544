"""IRR filtering: where member AS-SETs are expanded (bgpq4 against an IRR whois server)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ztix.config.base import Strict

# bgpq4 -S takes a comma-separated list: names only, never anything read as an option.
SourceName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,30}[A-Za-z0-9]$")]


class IrrConfig(Strict):
    """The IRR data source of the route servers' IRR checks (docs/route-servers.md).

    Off by default: with it off, routes are tagged "IRR not checked". Production: NTT's
    rr.ntt.net mirrors every RIR database and the large IRRs; list the sources you trust,
    the RIRs' authoritative ones first.
    """

    enabled: bool = False
    # host or host:port of an IRRd-compatible whois server (bgpq4 -h).
    server: str = Field(
        "rr.ntt.net",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]{1,5})?$|^\[[0-9a-fA-F:]+\](:[0-9]{1,5})?$",
    )
    sources: tuple[SourceName, ...] = (
        "AFRINIC",
        "APNIC",
        "ARIN",
        "LACNIC",
        "RIPE",
        "RADB",
    )
    bgpq4: str = "bgpq4"
    # Every bgpq4 call is killed after this long (bgpq4 has no timeout of its own).
    timeout_seconds: float = Field(60, gt=0, le=3600)
    # Members expanded at the same time during a refresh.
    concurrency: int = Field(8, ge=1, le=64)
    refresh_interval_seconds: int = Field(6 * 3600, ge=60)
    # Size cap: an expansion with more prefixes than max(floor, factor x the member's
    # max-prefix limit) is flagged and not used (an AS-SET that expands to a full table).
    size_cap_factor: int = Field(10, ge=1)
    size_cap_floor_ipv4: int = Field(1000, ge=1)
    size_cap_floor_ipv6: int = Field(500, ge=1)
