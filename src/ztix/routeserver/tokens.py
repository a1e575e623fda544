"""The only values the renderer may print into a BIRD file (DESIGN §5).

Templates print ints, parsed addresses and networks, and the validated token types here;
:func:`bird_value` (Jinja's ``finalize``) refuses anything else with :class:`RenderError`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import ClassVar

from ztix.domain.bgp_password import BGP_PASSWORD_PATTERN
from ztix.routeserver.policy_data import IMPORT_LIMIT_ACTIONS


class RenderError(ValueError):
    """The desired state cannot be turned into a safe BIRD configuration."""


class Token(str):
    """A string that may reach a BIRD file: validated against ``pattern`` when made."""

    pattern: ClassVar[re.Pattern[str]]
    what: ClassVar[str]

    def __new__(cls, value: str) -> Token:
        if not isinstance(value, str) or not cls.pattern.fullmatch(value):
            raise RenderError(f"not a valid {cls.what}: {value!r}")
        return super().__new__(cls, value)


class Symbol(Token):
    """A BIRD symbol (protocol, filter, table name)."""

    pattern = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}", re.ASCII)
    what = "BIRD symbol"


class HexId(Token):
    pattern = re.compile(r"[0-9a-f]{1,64}", re.ASCII)
    what = "lowercase hex ID"


class Hostname(Token):
    """A DNS name (RFC 1123), rendered inside quotes."""

    pattern = re.compile(
        r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*",
        re.ASCII,
    )
    what = "host name"


class ConfigPath(Token):
    """An absolute path, rendered inside quotes: no quotes, spaces, ``.`` or ``..`` parts."""

    pattern = re.compile(r"(/[A-Za-z0-9_][A-Za-z0-9._-]{0,63}){1,16}", re.ASCII)
    what = "absolute path"

    def __new__(cls, value: str) -> ConfigPath:
        token = super().__new__(cls, value)
        if any(part in {".", ".."} for part in token.split("/")):
            raise RenderError(f"not a valid {cls.what}: {value!r}")
        return token  # type: ignore[return-value]


class RelativeConfigPath(Token):
    """A relative path, rendered inside quotes: ``..`` parts only at its start, no ``.``
    parts, quotes or spaces. BIRD resolves it against the directory of the file that holds
    the ``include`` (BIRD 2.0.12 ``conf/cf-lex.l``: ``dirname`` of the including file)."""

    pattern = re.compile(
        r"(\.\./){0,16}[A-Za-z0-9_][A-Za-z0-9._-]{0,63}(/[A-Za-z0-9_][A-Za-z0-9._-]{0,63}){0,16}",
        re.ASCII,
    )
    what = "relative path"

    def __new__(cls, value: str) -> RelativeConfigPath:
        token = super().__new__(cls, value)
        parts = token.split("/")
        rest = parts[next(i for i, part in enumerate(parts) if part != "..") :]
        if any(part in {".", ".."} for part in rest):
            raise RenderError(f"not a valid {cls.what}: {value!r}")
        return token  # type: ignore[return-value]


class Comment(Token):
    """Text of our own for a ``#`` comment: no newline, quote or brace."""

    pattern = re.compile(r"[A-Za-z0-9 ,.()/:+-]{1,120}", re.ASCII)
    what = "comment"


class Label(Token):
    """A route-server name (config pattern), used in comments."""

    pattern = re.compile(r"[a-z0-9][a-z0-9-]{0,62}", re.ASCII)
    what = "route-server name"


class Keyword(Token):
    """One of the BIRD keywords the renderer chooses from (import limit actions)."""

    pattern = re.compile("|".join(IMPORT_LIMIT_ACTIONS), re.ASCII)
    what = "import limit action (warn, block, restart, disable)"


class Password(Token):
    """A member's BGP session password, rendered inside double quotes (domain.bgp_password:
    no quote, backslash or space can pass). Its repr hides it, so errors never show it."""

    pattern = BGP_PASSWORD_PATTERN
    what = "BGP password (8-80 of A-Za-z0-9!#%*+,-./:=@^_~)"

    def __new__(cls, value: str) -> Password:
        if not isinstance(value, str) or not cls.pattern.fullmatch(value):
            raise RenderError(f"not a valid {cls.what}")  # never echo the value
        return str.__new__(cls, value)

    def __repr__(self) -> str:
        return "Password('***')"


# Exact types: a subclass could change how it prints. (Token subclasses are ours.)
_PRINTABLE = frozenset(
    {
        int,
        ipaddress.IPv4Address,
        ipaddress.IPv6Address,
        ipaddress.IPv4Network,
        ipaddress.IPv6Network,
    }
)


def bird_value(value: object) -> object:
    """Jinja ``finalize``: every ``{{ expression }}`` passes here before it is written."""
    if type(value) not in _PRINTABLE and not isinstance(value, Token):
        raise RenderError(
            f"refusing to write a {type(value).__name__} into a BIRD file: {value!r} "
            "(only ints, IP addresses/networks and validated IDs may be rendered)"
        )
    return value
