"""Validation of the identifiers members type: ASNs, ZeroTier node IDs and network IDs.

Pure functions, no I/O. Each failure raises :class:`InvalidIdentifier` carrying the stable
problem ``code`` the API answers with, so the API, the CLI and the workers reject the same
input with the same words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ASN_MIN = 1
ASN_MAX = 4_294_967_294


@dataclass(frozen=True)
class AsnRange:
    """Special-purpose ASNs (inclusive). ``reserved`` ones never peer; ``private`` ones
    peer only where allowed; all of them are refused anywhere in a route's AS path."""

    low: int
    high: int
    kind: Literal["reserved", "private", "iana_reserved"]
    why: str

    def __contains__(self, asn: object) -> bool:
        return isinstance(asn, int) and self.low <= asn <= self.high


# The IANA registry (the same list arouteserver refuses in AS paths), in numeric order;
# DESIGN §3. The one table of such ASNs: request validation and the route servers' filter.
SPECIAL_ASNS: tuple[AsnRange, ...] = (
    AsnRange(0, 0, "reserved", "AS0 is reserved (RFC 7607)"),
    AsnRange(23456, 23456, "reserved", "AS23456 is AS_TRANS (RFC 6793)"),
    AsnRange(64496, 64511, "reserved", "64496-64511 are reserved for documentation (RFC 5398)"),
    AsnRange(64512, 65534, "private", "64512-65534: private use (RFC 6996)"),
    AsnRange(65535, 65535, "reserved", "AS65535 is reserved (RFC 7300)"),
    AsnRange(65536, 65551, "reserved", "65536-65551 are reserved for documentation (RFC 5398)"),
    AsnRange(65552, 131071, "iana_reserved", "65552-131071 are reserved by IANA"),
    AsnRange(
        4_200_000_000,
        4_294_967_294,
        "private",
        "4200000000-4294967294: private use (RFC 6996)",
    ),
    AsnRange(4_294_967_295, 4_294_967_295, "reserved", "AS4294967295 is reserved (RFC 7300)"),
)

# ASCII only: str.isdigit(), int() and \d also take superscripts ("\u00b2"), fullwidth and
# Arabic-Indic digits, and int() takes "1_000", "+5" and " 7 ".
_DIGITS = re.compile(r"[0-9]+")
_ASN_TEXT = re.compile(r"(?:[Aa][Ss])?([0-9]+)")
_NODE_ID = re.compile(r"[0-9a-fA-F]{10}")
_NETWORK_ID = re.compile(r"[0-9a-fA-F]{16}")
# What may surround an identifier pasted from a terminal; nothing else is stripped.
_BLANKS = " \t"
# More digits than any of our integers needs (and far below int()'s 4300-digit limit).
MAX_DIGITS = 20


@dataclass(frozen=True)
class InvalidIdentifier(ValueError):
    """An identifier that must be refused; ``code`` is the stable problem code."""

    code: str
    detail: str

    def __str__(self) -> str:
        return self.detail


def parse_digits(text: str) -> int | None:
    """The value of ``text`` when it is only the ASCII digits 0-9 (no sign, underscore,
    space or other Unicode digit), else None. Past :data:`MAX_DIGITS` significant digits
    the answer is ``10**MAX_DIGITS``, beyond every range the callers check."""
    if not _DIGITS.fullmatch(text):
        return None
    significant = text.lstrip("0") or "0"
    return int(significant) if len(significant) <= MAX_DIGITS else 10**MAX_DIGITS


def parse_asn_text(text: str) -> int | None:
    """An ASN as typed: ASCII digits with an optional ``AS`` (any case) before them, blanks
    around; None when it is not that shape. The range is not checked here."""
    match = _ASN_TEXT.fullmatch(text.strip(_BLANKS))
    return parse_digits(match.group(1)) if match else None


def is_private_asn(asn: int) -> bool:
    return any(asn in r for r in SPECIAL_ASNS if r.kind == "private")


def validate_asn(value: object, *, allow_private: bool = False) -> int:
    """Return the ASN as an int, or raise ``invalid_asn`` saying why it is refused.

    Takes an int, or text of the ASCII digits 0-9 with an optional ``AS`` prefix."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidIdentifier("invalid_asn", "ASN must be an integer")
    if isinstance(value, int):
        asn = value
    else:
        parsed = parse_asn_text(value)
        if parsed is None:
            raise InvalidIdentifier(
                "invalid_asn",
                "ASN must be written with the digits 0-9, optionally after AS (like AS64500)",
            )
        asn = parsed
    for special in SPECIAL_ASNS:
        if special.kind == "reserved" and asn in special:
            raise InvalidIdentifier("invalid_asn", f"AS{asn} cannot peer: {special.why}")
    if asn < ASN_MIN or asn > ASN_MAX:
        raise InvalidIdentifier("invalid_asn", f"ASN must be between {ASN_MIN} and {ASN_MAX}")
    if is_private_asn(asn) and not allow_private:
        raise InvalidIdentifier("invalid_asn", f"AS{asn} is a private ASN (RFC 6996)")
    return asn


def normalize_node_id(value: object) -> str:
    """Return a ZeroTier node ID as 10 lower-case hex digits, or raise ``invalid_node_id``."""
    if not isinstance(value, str):
        raise InvalidIdentifier("invalid_node_id", "node ID must be a string of 10 hex digits")
    node_id = value.strip(_BLANKS)
    if not _NODE_ID.fullmatch(node_id):
        raise InvalidIdentifier(
            "invalid_node_id",
            "node ID must be exactly 10 hexadecimal digits (see `zerotier-cli info`)",
        )
    node_id = node_id.lower()
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
    nwid = value.strip(_BLANKS)
    if not _NETWORK_ID.fullmatch(nwid):
        raise InvalidIdentifier(
            "invalid_network_id", "network ID must be exactly 16 hexadecimal digits"
        )
    return nwid.lower()


def network_controller(nwid: str) -> str:
    """The controller address (first 10 hex digits) of a normalised network ID."""
    return nwid[:10]
