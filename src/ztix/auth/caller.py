"""Who a request acts for, as read by the one statement that authenticates it.

A cookie session (``auth/sessions.resolve_session``) or an API token
(``auth/api_tokens.resolve``) is checked by one indexed Core select of the columns a
request needs, not by loading ORM rows: these frozen values are what that select produced.
Routes that only ask "who, admin or not, for which ASNs" take a :class:`Caller`; those that
need more of the user (their grants, e-mail, settings) load the ``User`` row themselves
(``api/deps.current_user``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ztix.db.models import ADMIN_SCOPE


@dataclass(frozen=True, slots=True)
class Caller:
    """The user a request acts for. ``scope`` is an API token's narrowing (``ADMIN_SCOPE``
    for an admin token, else the ASNs it names; None for a session), with the meaning of
    ``User.is_admin`` and ``User.held_asns`` (``db/models.py``)."""

    id: int
    username: str
    role: str
    asns: frozenset[int]  # every ASN the user holds
    scope: frozenset[int] | None = None

    @classmethod
    def of_rows(cls, rows: Sequence[Any], scope: frozenset[int] | None = None) -> Caller:
        """The caller of a look-up's rows: its user's columns, and one row per ASN held (or
        one with ``asn`` None when none is)."""
        row = rows[0]
        return cls(
            id=row.user_id,
            username=row.username,
            role=row.role,
            asns=frozenset(r.asn for r in rows if r.asn is not None),
            scope=scope,
        )

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and self.scope in (None, ADMIN_SCOPE)

    def held_asns(self) -> set[int]:
        """The ASNs this request may act for: an API token narrows its owner's."""
        if self.scope is None or self.scope is ADMIN_SCOPE:
            return set(self.asns)
        return set(self.asns & self.scope)


@dataclass(frozen=True, slots=True)
class LiveSession:
    """A checked, live cookie session: what the request needs of its ``user_sessions`` row."""

    token_hash: str
    user_id: int
    csrf_token: str
    method: str
    last_seen_at: datetime
    caller: Caller
    # A route's companion value, read by the look-up's statement (``sessions.Companion``).
    companion: Any = None


@dataclass(frozen=True, slots=True)
class LiveToken:
    """A checked, live API token: what the request needs of its ``api_tokens`` row."""

    id: int
    name: str
    prefix: str
    kind: str
    can_write: bool
    last_used_at: datetime | None
    caller: Caller


def grants_stale(checked_at: datetime | None, now: datetime, max_age_hours: float) -> bool:
    """Whether a PeeringDB user's networks have gone unconfirmed (no login or re-check) for
    ``max_age_hours``: their sessions and tokens stop working then."""
    return checked_at is None or now - checked_at >= timedelta(hours=max_age_hours)
