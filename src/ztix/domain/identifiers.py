"""Validation of the identifiers members type: ASNs, ZeroTier node IDs and network IDs.

Pure functions, no I/O. Each failure raises :class:`InvalidIdentifier` carrying the stable
problem ``code`` the API answers with, so the API, the CLI and the workers reject the same
input with the same words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ASN_MIN = 1
ASN_MAX = 4_294_967_294

# (first, last, why) — DESIGN §3. Ranges are inclusive.
_RESERVED_ASNS: tuple[tuple[int, int, str], ...] = (
    (0, 0, "AS0 is reserved (RFC 7607)"),
    (23456, 23456, "AS23456 is AS_TRANS (RFC 6793)"),
    (64496, 64511, "64496-64511 are reserved for documentation (RFC 5398)"),
    (65535, 65535, "AS65535 is reserved (RFC 7300)"),
    (65536, 65551, "65536-65551 are reserved for documentation (RFC 5398)"),
    (4_294_967_295, 4_294_967_295, "AS4294967295 is reserved (RFC 7300)"),
)
_PRIVATE_ASNS: tuple[tuple[int, int], ...] = (
    (64512, 65534),
    (4_200_000_000, 4_294_967_294),
)

_NODE_ID = re.compile(r"[0-9a-f]{10}")
_NETWORK_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class InvalidIdentifier(ValueError):
    """An identifier that must be refused; ``code`` is the stable problem code."""

    code: str
    detail: str

    def __str__(self) -> str:
        return self.detail


def is_private_asn(asn: int) -> bool:
    return any(lo <= asn <= hi for lo, hi in _PRIVATE_ASNS)


def validate_asn(value: object, *, allow_private: bool = False) -> int:
    """Return the ASN as an int, or raise ``invalid_asn`` saying why it is refused."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidIdentifier("invalid_asn", "ASN must be an integer")
    text = str(value).strip()
    if text.upper().startswith("AS"):
        text = text[2:]
    if not text.isdigit():
        raise InvalidIdentifier("invalid_asn", f"ASN must be an integer, got {value!r}")
    asn = int(text)
    for lo, hi, why in _RESERVED_ASNS:
        if lo <= asn <= hi:
            raise InvalidIdentifier("invalid_asn", f"AS{asn} cannot peer: {why}")
    if asn < ASN_MIN or asn > ASN_MAX:
        raise InvalidIdentifier("invalid_asn", f"ASN must be between {ASN_MIN} and {ASN_MAX}")
    if is_private_asn(asn) and not allow_private:
        raise InvalidIdentifier("invalid_asn", f"AS{asn} is a private ASN (RFC 6996)")
    return asn


def normalize_node_id(value: object) -> str:
    """Return a ZeroTier node ID as 10 lower-case hex digits, or raise ``invalid_node_id``."""
    if not isinstance(value, str):
        raise InvalidIdentifier("invalid_node_id", "node ID must be a string of 10 hex digits")
    node_id = value.strip().lower()
    if not _NODE_ID.fullmatch(node_id):
        raise InvalidIdentifier(
            "invalid_node_id",
            "node ID must be exactly 10 hexadecimal digits (see `zerotier-cli info`)",
        )
    if node_id == "0000000000":
        raise InvalidIdentifier("invalid_node_id", "node ID 0000000000 is reserved")
    if node_id.startswith("ff"):
        raise InvalidIdentifier("invalid_node_id", "node IDs starting with ff are reserved")
    return node_id


def normalize_network_id(value: object) -> str:
    """Return a ZeroTier network ID as 16 lower-case hex digits, or raise ``invalid_network_id``.

    A network ID is the 10-hex address of its controller followed by a 6-hex suffix.
    """
    if not isinstance(value, str):
        raise InvalidIdentifier("invalid_network_id", "network ID must be 16 hex digits")
    nwid = value.strip().lower()
    if not _NETWORK_ID.fullmatch(nwid):
        raise InvalidIdentifier(
            "invalid_network_id", "network ID must be exactly 16 hexadecimal digits"
        )
    return nwid


def network_controller(nwid: str) -> str:
    """The controller address (first 10 hex digits) of a normalised network ID."""
    return nwid[:10]
