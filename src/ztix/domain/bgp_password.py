"""The character set of a member's BGP session password (TCP MD5, RFC 2385).

One rule for the API (what a member may set) and the renderer (what may reach a BIRD file,
inside double quotes): printable ASCII without quotes, backslash, space, ``$``, ``&``,
``?`` (Cisco's CLI help key), brackets, braces or ``;``. 8 to 80 characters: Linux keeps at
most 80 bytes of a TCP MD5 key (TCP_MD5SIG_MAXKEYLEN).
"""

from __future__ import annotations

import re

BGP_PASSWORD_CHARS = "A-Za-z0-9 and ! # % * + , - . / : = @ ^ _ ~"  # noqa: S105 - a charset
BGP_PASSWORD_MIN, BGP_PASSWORD_MAX = 8, 80
BGP_PASSWORD_PATTERN = re.compile(
    rf"[A-Za-z0-9!#%*+,\-./:=@^_~]{{{BGP_PASSWORD_MIN},{BGP_PASSWORD_MAX}}}", re.ASCII
)


def valid_bgp_password(value: str) -> bool:
    return BGP_PASSWORD_PATTERN.fullmatch(value) is not None
