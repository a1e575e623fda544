"""The data of the route servers' import policy: the large-community scheme and the bogons.

One table each, used by the templates (through ``render``), the tests and
docs/route-servers.md. The ASNs refused in AS paths are ``domain.identifiers.SPECIAL_ASNS``.
"""

from __future__ import annotations

from enum import IntEnum

# --- community scheme ------------------------------------------------------------------
# Large communities (rs_asn, function, value), after arouteserver's defaults. One table, used by
# the templates, the tests and docs/route-servers.md.


class RejectReason(IntEnum):
    """Why a route was rejected: tagged ``(rs_asn, 65520, reason)`` on the kept route.

    Codes follow arouteserver's reject-reason table so looking glasses that know it
    (Alice-LG setups for arouteserver) decode ZT-IX's routes too.
    """

    AS_PATH_TOO_LONG = 1
    BOGON = 2
    PEERING_LAN = 3  # arouteserver: "Prefix is in global blacklist"
    WRONG_AFI = 4
    NEXT_HOP_NOT_PEER = 5
    FIRST_AS_NOT_PEER = 6
    INVALID_ASN_IN_PATH = 7
    ORIGIN_NOT_IN_IRR = 9
    NOT_GLOBAL_UNICAST_V6 = 10
    PREFIX_NOT_IN_IRR = 12
    PREFIX_LENGTH = 13
    RPKI_INVALID = 14
    NEVER_VIA_ROUTE_SERVERS = 15
    # ZT-IX's own (arouteserver has no such check): a BLACKHOLE route for a prefix the member
    # is not entitled to (not in its IRR route objects, no RPKI-valid ROA).
    BLACKHOLE_NOT_ENTITLED = 16


# Each reject reason in words, for the looking glass (docs/route-servers.md has the same table).
REJECT_REASON_TEXT: dict[int, str] = {
    RejectReason.AS_PATH_TOO_LONG: "AS path longer than the maximum",
    RejectReason.BOGON: "prefix is a bogon",
    RejectReason.PEERING_LAN: "prefix is inside the IX's peering LAN",
    RejectReason.WRONG_AFI: "wrong address family for the session",
    RejectReason.NEXT_HOP_NOT_PEER: "next hop is not the member's address",
    RejectReason.FIRST_AS_NOT_PEER: "first AS in the path is not the member's ASN",
    RejectReason.INVALID_ASN_IN_PATH: "private, reserved or documentation ASN in the path",
    RejectReason.ORIGIN_NOT_IN_IRR: "origin AS not in the member's AS-SET (IRR)",
    RejectReason.NOT_GLOBAL_UNICAST_V6: "IPv6 prefix outside global unicast (2000::/3)",
    RejectReason.PREFIX_NOT_IN_IRR: "prefix not in the member's AS-SET route objects (IRR)",
    RejectReason.PREFIX_LENGTH: "prefix length outside the allowed range (too long or too short)",
    RejectReason.RPKI_INVALID: "RPKI invalid",
    RejectReason.NEVER_VIA_ROUTE_SERVERS: "never-via-route-servers ASN in the path (PeeringDB)",
    RejectReason.BLACKHOLE_NOT_ENTITLED: "blackhole for a prefix the member is not entitled to",
}

REJECT_FUNCTION = 65520  # (rs_asn, 65520, reason)
INFO_RPKI_FUNCTION = 1000  # (rs_asn, 1000, x)
INFO_IRR_FUNCTION = 1001  # (rs_asn, 1001, x)


class RpkiInfo(IntEnum):
    """``(rs_asn, 1000, x)``: the route's RPKI origin-validation state, set on import."""

    VALID = 1
    UNKNOWN = 2
    NOT_CHECKED = 3  # no RTR validator configured
    INVALID = 4  # only with policy rpki_invalid = "tag"; such routes are never exported


class IrrInfo(IntEnum):
    """``(rs_asn, 1001, x)``: what the IRR (AS-SET) checks found, set on import."""

    ORIGIN_IN_AS_SET = 1
    ORIGIN_NOT_CHECKED = 2  # no IRR origin data for the member
    PREFIX_IN_AS_SET = 3
    PREFIX_NOT_CHECKED = 4  # no IRR prefix data for the member
    ORIGIN_NOT_IN_AS_SET = 5  # only with policy irr_origin = "tag": accepted anyway
    PREFIX_NOT_IN_AS_SET = 6  # only with policy irr_prefix = "tag": accepted anyway
    VALID_VIA_RPKI = 7  # not in the IRR data, but RPKI-valid (rpki_valid_is_irr_valid)


# Export control, honoured per receiving peer and scrubbed before export (arouteserver's
# `configure` defaults; Euro-IX route-server community usage):
#   do not announce to peer   0:peer_as          rs_asn:0:peer_as
#   announce only to peer     rs_asn:peer_as     rs_asn:1:peer_as
#   announce to no peer       0:rs_asn           rs_asn:0:0
# Standard forms need 16-bit values: with a 32-bit peer or route-server ASN only the large
# form exists (and the large form always works).
CONTROL_DO_NOT_ANNOUNCE = 0
CONTROL_ANNOUNCE = 1

# Well-known standard communities the route servers honour or set.
GRACEFUL_SHUTDOWN = (65535, 0)  # RFC 8326: honoured (local preference 0), set when drained
BLACKHOLE = (65535, 666)  # RFC 7999: honoured when the network allows blackholing
NO_EXPORT = (65535, 65281)  # RFC 1997: added to accepted blackhole routes

# Bogons: refused together with every more-specific (arouteserver's bogons.yml, plus
# 192.0.0.0/24 as in IXP Manager). Prefixes shorter than the policy minimum are refused
# earlier by the length check, so the default routes need no entry of their own.
BOGONS_V4: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "RFC 1122 this network"),
    ("10.0.0.0/8", "RFC 1918 private use"),
    ("100.64.0.0/10", "RFC 6598 shared address space"),
    ("127.0.0.0/8", "RFC 1122 loopback"),
    ("169.254.0.0/16", "RFC 3927 link local"),
    ("172.16.0.0/12", "RFC 1918 private use"),
    ("192.0.0.0/24", "RFC 6890 IETF protocol assignments"),
    ("192.0.2.0/24", "RFC 5737 TEST-NET-1"),
    ("192.168.0.0/16", "RFC 1918 private use"),
    ("198.18.0.0/15", "RFC 2544 benchmarking"),
    ("198.51.100.0/24", "RFC 5737 TEST-NET-2"),
    ("203.0.113.0/24", "RFC 5737 TEST-NET-3"),
    ("224.0.0.0/3", "RFC 5771 multicast and RFC 1112 class E"),
)
BOGONS_V6: tuple[tuple[str, str], ...] = (
    ("::/8", "RFC 4291 loopback, unspecified, v4-mapped"),
    ("64:ff9b::/96", "RFC 6052 IPv4-IPv6 translation"),
    ("100::/8", "RFC 6666 discard-only"),
    ("200::/7", "RFC 4048 reserved"),
    ("400::/6", "RFC 4291 reserved"),
    ("800::/5", "RFC 4291 reserved"),
    ("1000::/4", "RFC 4291 reserved"),
    ("2001::/33", "RFC 4380 Teredo"),
    ("2001:0:8000::/33", "RFC 4380 Teredo"),
    ("2001:2::/48", "RFC 5180 benchmarking"),
    ("2001:3::/32", "RFC 7450 AMT"),
    ("2001:10::/28", "RFC 4843 ORCHID (deprecated)"),
    ("2001:20::/28", "RFC 7343 ORCHIDv2"),
    ("2001:db8::/32", "RFC 3849 documentation"),
    ("2002::/16", "RFC 3068 6to4"),
    ("3ffe::/16", "RFC 5156 old 6bone"),
    ("4000::/3", "RFC 4291 reserved"),
    ("5f00::/8", "RFC 5156 old 6bone"),
    ("6000::/3", "RFC 4291 reserved"),
    ("8000::/3", "RFC 4291 reserved"),
    ("a000::/3", "RFC 4291 reserved"),
    ("c000::/3", "RFC 4291 reserved"),
    ("e000::/4", "RFC 4291 reserved"),
    ("f000::/5", "RFC 4291 reserved"),
    ("f800::/6", "RFC 4291 reserved"),
    ("fc00::/7", "RFC 4193 unique local"),
    ("fe80::/10", "RFC 4291 link local"),
    ("fec0::/10", "RFC 3879 site local (deprecated)"),
    ("ff00::/8", "RFC 4291 multicast"),
)

IMPORT_LIMIT_ACTIONS = ("warn", "block", "restart", "disable")
RPKI_INVALID_POLICIES = ("reject", "tag")
IRR_POLICIES = ("reject", "tag")
