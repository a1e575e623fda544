"""IRR objects a member's routes are checked against: which AS-SETs (or ASN) to expand.

PeeringDB's ``irr_as_set`` is free text. What networks really put there: one or more entries
separated by spaces, commas or semicolons; ``SOURCE::AS-NAME`` (the PeeringDB-documented
form), ``AS-NAME@SOURCE``, a bare ``AS-NAME``, a bare ``ASnnn``, hierarchical names
(``AS123:AS-CUSTOMERS``), lower case, and junk ("none", "N/A", URLs, sentences). Parsing
keeps what is a valid RPSL name and drops the rest; when nothing valid is left the member's
own ASN is expanded (its route objects with itself as origin).

Pure functions. Everything that may reach bgpq4's argument list passes ``check_object`` or
``check_source`` first: upper-case letters, digits, ``-``, ``_`` and ``:`` only, never a
leading ``-`` (so nothing reads as an option), bounded length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ztix.domain.identifiers import ASN_MAX, ASN_MIN


class IrrChoice(StrEnum):
    """Where the IRR object in use came from."""

    OVERRIDE = "override"  # an admin set it for this member
    PEERINGDB = "peeringdb"  # the network's irr_as_set on PeeringDB
    ASN = "asn"  # nothing valid in either: the member's own ASN


# RFC 2622 §5.1: an as-set name is a list of components separated by ':', each an ASN or a
# set name starting with "AS-"; at least one component is a set name. Names are
# case-insensitive; IRRd answers in upper case.
_SET_COMPONENT = re.compile(r"AS-[A-Z0-9_-]*[A-Z0-9]")
_ASN_COMPONENT = re.compile(r"AS([0-9]{1,10})")
_SOURCE = re.compile(r"[A-Z][A-Z0-9-]{0,30}[A-Z0-9]")
_SEPARATORS = re.compile(r"[\s,;]+")
MAX_OBJECT_LENGTH = 128  # longest as-set names in the IRRs are under 70 characters
MAX_ENTRIES = 10  # more entries than any real network lists; the rest is ignored


class InvalidIrrObject(ValueError):
    """A value that must not reach bgpq4."""


@dataclass(frozen=True, order=True)
class IrrObject:
    """One AS-SET or ASN to expand, optionally restricted to one IRR source."""

    name: str  # "AS-FOO", "AS123:AS-CUSTOMERS" or "AS123", upper case
    source: str | None = None  # "RIPE"; None: the configured source list

    def __str__(self) -> str:
        return f"{self.source}::{self.name}" if self.source else self.name

    @property
    def is_asn(self) -> bool:
        return _ASN_COMPONENT.fullmatch(self.name) is not None


@dataclass(frozen=True)
class IrrSelection:
    """The objects to expand for one member, where they came from, and what was dropped."""

    objects: tuple[IrrObject, ...]
    choice: IrrChoice
    ignored: tuple[str, ...] = ()  # tokens of the text that are not valid names

    @property
    def text(self) -> str:
        """The objects as one line (``RIPE::AS-FOO AS-BAR``), for pages and the database."""
        return " ".join(str(o) for o in self.objects)


def _valid_asn(digits: str) -> bool:
    return ASN_MIN <= int(digits) <= ASN_MAX


def check_object(name: str) -> str:
    """``name`` upper-cased if it is a valid as-set name or ``ASnnn``; else raise."""
    upper = name.upper()
    if not upper or len(upper) > MAX_OBJECT_LENGTH:
        raise InvalidIrrObject(f"IRR object of invalid length: {name[:40]!r}")
    components = upper.split(":")
    has_set = False
    for part in components:
        asn = _ASN_COMPONENT.fullmatch(part)
        if asn is not None:
            if not _valid_asn(asn.group(1)):
                raise InvalidIrrObject(f"ASN out of range in IRR object {name!r}")
            continue
        if _SET_COMPONENT.fullmatch(part) is None:
            raise InvalidIrrObject(f"not an AS-SET name or ASN: {name[:40]!r}")
        has_set = True
    if len(components) > 1 and not has_set:
        raise InvalidIrrObject(f"hierarchical name without a set component: {name!r}")
    return upper


def check_source(source: str) -> str:
    """``source`` upper-cased if it is a valid IRR source name (``RIPE``, ``ARIN-NONAUTH``)."""
    upper = source.upper()
    if _SOURCE.fullmatch(upper) is None:
        raise InvalidIrrObject(f"not an IRR source name: {source[:40]!r}")
    return upper


def parse_entry(token: str) -> IrrObject:
    """One entry: ``SOURCE::NAME``, ``NAME@SOURCE`` or ``NAME``; raise when invalid."""
    source: str | None = None
    name = token
    if "::" in token:
        source, _, name = token.partition("::")
    elif "@" in token:
        name, _, source = token.partition("@")
    return IrrObject(check_object(name), check_source(source) if source is not None else None)


def parse_irr_as_set(text: str | None) -> tuple[tuple[IrrObject, ...], tuple[str, ...]]:
    """The valid objects of a free-text field, in order and without duplicates, and the
    tokens that were ignored."""
    objects: list[IrrObject] = []
    ignored: list[str] = []
    for token in _SEPARATORS.split(text or ""):
        if not token:
            continue
        try:
            obj = parse_entry(token)
        except InvalidIrrObject:
            ignored.append(token[:64])
            continue
        if obj not in objects:
            objects.append(obj)
    return tuple(objects[:MAX_ENTRIES]), tuple(ignored)


def select_irr_objects(asn: int, *, override: str | None, peeringdb: str | None) -> IrrSelection:
    """What to expand for member ``asn``: the admin override if it holds a valid name, else
    PeeringDB's ``irr_as_set`` if it does, else ``AS<asn>``."""
    for text, choice in ((override, IrrChoice.OVERRIDE), (peeringdb, IrrChoice.PEERINGDB)):
        if text is None or not text.strip():
            continue
        objects, ignored = parse_irr_as_set(text)
        if objects:
            return IrrSelection(objects, choice, ignored)
    ignored = parse_irr_as_set(peeringdb)[1] + parse_irr_as_set(override)[1]
    return IrrSelection((IrrObject(f"AS{asn}"),), IrrChoice.ASN, ignored)
