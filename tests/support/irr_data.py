"""RPSL fixtures for the IRR tests: aut-nums, nested and hierarchical AS-SETs, route and
route6 objects, an AS-SET loop, an empty set and a set too large for a small member.

Public-looking ASNs and prefixes on purpose: bgpq4 drops private ASNs, and the route
servers refuse documentation prefixes as bogons before any IRR check.
"""

from __future__ import annotations

from tests.support.irrd import rpsl_object

MNT = {"mnt_by": "MNT-ZTIX", "admin_c": "ZTIX-TEST", "tech_c": "ZTIX-TEST"}

# Member A (AS211101): AS-ZTIXA = A itself + AS-ZTIXA-CUST (customer AS211102, and a loop
# back to AS-ZTIXA).
A, A_CUSTOMER = 211101, 211102
# Member C has no AS-SET: its own ASN is expanded.
C = 211103
# AS-ZTIXBIG expands to 300 prefixes of AS211105: more than a small member's cap.
BIG = 211105

A_V4 = ["185.1.0.0/22", "185.1.8.0/24"]
A_CUSTOMER_V4 = ["185.1.4.0/24"]
A_V6 = ["2a0e:1000::/32"]
C_V4 = ["185.3.0.0/24"]
BIG_V4 = [f"46.{i // 256 + 10}.{i % 256}.0/24" for i in range(300)]
TOO_LONG_V4 = "185.1.4.128/25"  # a /25 route object: longer than the IX accepts


def _routes(prefixes: list[str], origin: int) -> str:
    kind = "route6" if ":" in prefixes[0] else "route"
    return "".join(
        rpsl_object(kind, p, origin=f"AS{origin}", descr="ZT-IX test", **MNT) for p in prefixes
    )


FIXTURES = "".join(
    [
        rpsl_object("mntner", "MNT-ZTIX", auth="MD5-PW $1$abcdefgh$0123456789abcdefghijkl", **MNT),
        rpsl_object(
            "person",
            "ZT-IX Test",
            nic_hdl="ZTIX-TEST",
            address="Nowhere",
            phone="+31 20 000 0000",
            e_mail="test@example.net",
            mnt_by="MNT-ZTIX",
        ),
        *(
            rpsl_object("aut-num", f"AS{asn}", as_name=f"ZTIX-{asn}", **MNT)
            for asn in (A, A_CUSTOMER, C, BIG)
        ),
        rpsl_object("as-set", "AS-ZTIXA", members=[f"AS{A}", "AS-ZTIXA-CUST"], **MNT),
        rpsl_object("as-set", "AS-ZTIXA-CUST", members=[f"AS{A_CUSTOMER}", "AS-ZTIXA"], **MNT),
        rpsl_object("as-set", f"AS{A}:AS-CUSTOMERS", members=f"AS{A_CUSTOMER}", **MNT),
        rpsl_object("as-set", "AS-ZTIXLOOP1", members=["AS-ZTIXLOOP2", f"AS{C}"], **MNT),
        rpsl_object("as-set", "AS-ZTIXLOOP2", members="AS-ZTIXLOOP1", **MNT),
        rpsl_object("as-set", "AS-ZTIXEMPTY", descr="no members", **MNT),
        rpsl_object("as-set", "AS-ZTIXBIG", members=f"AS{BIG}", **MNT),
        _routes(A_V4, A),
        _routes(A_V6, A),
        _routes(A_CUSTOMER_V4, A_CUSTOMER),
        _routes([TOO_LONG_V4], A_CUSTOMER),
        _routes(C_V4, C),
        _routes(BIG_V4, BIG),
    ]
)
