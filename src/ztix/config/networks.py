"""The IX networks (peering LANs)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from ztix.config.base import Strict
from ztix.config.policy import AsnEntry
from ztix.domain.addressing import AddressRange
from ztix.domain.identifiers import InvalidIdentifier, normalize_network_id


class BlackholingConfig(Strict):
    """RFC 7999 blackholing on the route servers of this network (docs/route-servers.md).
    Off by default. A next hop, when given, is an address of the peering LAN that no member
    holds (ZT-IX never hands it out): accepted blackhole routes are sent with it."""

    enabled: bool = False
    next_hop_ipv4: ipaddress.IPv4Address | None = None
    next_hop_ipv6: ipaddress.IPv6Address | None = None
    # The VRP JSON the RTR validator serves (StayRTR / rpki-client format): its ROAs entitle
    # members to blackhole more-specifics of what they cover. None: only a ROA reaching the
    # blackhole's length (or IRR data) entitles. The embedded default uses its roas.json.
    vrp_file: Path | None = None


class NetworkConfig(Strict):
    """An IX network. Give ``zt_network_id`` in full, or only its 6-hex ``suffix`` when the
    self-hosted controller owns it: the ID is then the controller's address + suffix,
    learnt at preflight (so a new controller identity keeps the same config)."""

    zt_network_id: str | None = None
    suffix: str | None = Field(None, pattern=r"^[0-9a-fA-F]{6}$")
    name: str = Field(min_length=1, max_length=200)
    ipv4_prefix: ipaddress.IPv4Network
    ipv6_prefix: ipaddress.IPv6Network
    description: str = ""
    # Peering-LAN addresses never handed to members (route servers are added to these):
    # addresses, ranges ("192.0.2.2-192.0.2.9") and prefixes ("2001:db8:ab::/120").
    reserved_addresses: tuple[str, ...] = ()
    # Eligibility policy: the ASNs that may join this network, on top of policy.allowed_asns
    # (empty: every eligible ASN), and whether an admin approves every request even under
    # policy_auto.
    allowed_asns: tuple[AsnEntry, ...] = ()
    manual_approval: bool = False
    # The network's multicastLimit: how many members a multicast or broadcast frame reaches.
    # 0 would cut ARP and IPv6 neighbour discovery; the reconciler keeps it at this value.
    multicast_limit: int = Field(32, ge=1, le=1_000_000)
    blackholing: BlackholingConfig = BlackholingConfig()

    @field_validator("zt_network_id")
    @classmethod
    def _nwid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_network_id(value)
        except InvalidIdentifier as exc:
            raise ValueError(exc.detail) from exc

    @field_validator("reserved_addresses", mode="before")
    @classmethod
    def _reserved(cls, value: object) -> object:
        if not isinstance(value, list | tuple):
            return value
        normalized = []
        for item in value:
            try:
                normalized.append(str(AddressRange.parse(str(item))))
            except ValueError as exc:
                raise ValueError(f"reserved address {item!r}: {exc}") from exc
        return tuple(normalized)

    @property
    def reserved(self) -> tuple[AddressRange, ...]:
        """``reserved_addresses`` parsed: each an address, range or prefix."""
        return tuple(AddressRange.parse(r) for r in self.reserved_addresses)

    @field_validator("suffix")
    @classmethod
    def _lower_suffix(cls, value: str | None) -> str | None:
        return None if value is None else value.lower()

    @property
    def id_suffix(self) -> str:
        """The 6-hex suffix, given or taken from the full network ID."""
        return self.suffix or (self.zt_network_id or "")[10:]

    @model_validator(mode="after")
    def _one_id(self) -> NetworkConfig:
        if (self.zt_network_id is None) == (self.suffix is None):
            raise ValueError("give exactly one of zt_network_id and suffix")
        for block in self.reserved:
            prefix = self.ipv4_prefix if block.version == 4 else self.ipv6_prefix
            if block.first not in prefix or block.last not in prefix:
                raise ValueError(f"reserved addresses {block} are outside {prefix}")
        for next_hop in self.blackhole_next_hops:
            prefix = self.ipv4_prefix if next_hop.version == 4 else self.ipv6_prefix
            if next_hop not in prefix or next_hop in (prefix.network_address,):
                raise ValueError(f"blackhole next hop {next_hop} is not an address of {prefix}")
        return self

    @property
    def blackhole_next_hops(self) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
        """The blackhole next hops given (members never get these addresses)."""
        b = self.blackholing
        return tuple(a for a in (b.next_hop_ipv4, b.next_hop_ipv6) if a is not None)

    def network_id(self, controller_address: str | None) -> str | None:
        """The full network ID, given the controller's address when only a suffix is set."""
        if self.zt_network_id is not None:
            return self.zt_network_id
        if controller_address is None:
            return None
        return controller_address.lower() + (self.suffix or "")

    @field_validator("ipv4_prefix", "ipv6_prefix")
    @classmethod
    def _lan_size(
        cls, value: ipaddress.IPv4Network | ipaddress.IPv6Network
    ) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        longest = 30 if value.version == 4 else 64
        if value.prefixlen > longest:
            raise ValueError(f"an IPv{value.version} peering LAN must be /{longest} or larger")
        return value
