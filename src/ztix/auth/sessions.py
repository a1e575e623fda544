"""Server-side sessions. The cookie carries a random token; the database keeps its hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, select, update
from sqlalchemy.orm import Session, aliased

from ztix.auth.caller import Caller, LiveSession, grants_stale
from ztix.config import AuthConfig
from ztix.db.base import utcnow
from ztix.db.models import User, UserAsn, UserSession
from ztix.db.session import Database
from ztix.errors import AppError


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def start_session(
    db: Session,
    user: User,
    *,
    method: str,
    client_address: str | None,
    config: AuthConfig,
    presented: str | None = None,
) -> tuple[str, UserSession]:
    """Create a session for ``user``; returns the cookie token (shown once) and the row.

    Every login gets a new random ID. ``presented`` is the session cookie the browser sent
    with the login, whoever it belongs to: it is revoked, so a session ID planted before
    the login (fixation) or left from an earlier login is worth nothing afterwards.
    """
    if presented:
        db.execute(
            update(UserSession)
            .where(
                UserSession.token_hash == token_hash(presented), UserSession.revoked_at.is_(None)
            )
            .values(revoked_at=utcnow())
        )
    token = new_token()
    now = utcnow()
    row = UserSession(
        token_hash=token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        method=method,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=config.session_ttl_hours),
        client_address=client_address,
    )
    db.add(row)
    user.last_login_at = now
    return token, row


# The look-up of a cookie's session: the session, its user and the user's ASNs (one row per
# ASN, or one with none), by the session's primary key and ``user_asns.user_id``'s index.
# Columns, not ORM rows, and built once: this runs on every request a session makes.
_SESSION_QUERY = (
    select(
        UserSession.user_id,
        UserSession.csrf_token,
        UserSession.method,
        UserSession.last_seen_at,
        UserSession.expires_at,
        UserSession.revoked_at,
        User.username,
        User.role,
        User.is_active,
        User.peeringdb_checked_at,
        UserAsn.asn,
    )
    .join(User, User.id == UserSession.user_id)
    .outerjoin(UserAsn, UserAsn.user_id == User.id)
    .where(UserSession.token_hash == bindparam("token_hash"))
)


@dataclass(frozen=True)
class Companion:
    """One more value a route reads in the session look-up's own statement: the round trip
    to the database a read every request of the route makes, saved (issue 17, P4: the member
    page's digest, ``workflow.listing.member_version_companion``).

    ``column`` makes the value from the session's user's ASNs (an SQL array, ``NULL`` for
    none), which the statement reads in the same snapshot as the rows ``Caller.asns`` is
    built from: the value is computed for exactly the caller's ASNs. ``params`` are its bind
    parameters. The statement is built once per ``column``; the value is computed once per
    look-up, whatever the number of ASN rows."""

    column: Callable[[ColumnElement[Any]], ColumnElement[Any]]
    params: Mapping[str, Any]


@dataclass(frozen=True)
class CompanionValue:
    """What a :class:`Companion` read: the companion asked for, and its value."""

    companion: Companion
    value: Any


_WITH_COMPANION: dict[Callable[..., Any], Select[Any]] = {}


def _lookup_with(companion: Companion) -> Select[Any]:
    """``_SESSION_QUERY`` and the companion's value as one more column, ``companion``. The
    value is an uncorrelated scalar subquery (PostgreSQL's InitPlan: run once per
    statement, not once per ASN row), its ASNs read by the same token hash."""
    statement = _WITH_COMPANION.get(companion.column)
    if statement is None:
        session, held = aliased(UserSession), aliased(UserAsn)
        asns = (
            select(func.array_agg(held.asn))
            .join(session, session.user_id == held.user_id)
            .where(session.token_hash == bindparam("token_hash"))
            .scalar_subquery()
        )
        value = select(companion.column(asns)).scalar_subquery()
        statement = _SESSION_QUERY.add_columns(value.label("companion"))
        _WITH_COMPANION[companion.column] = statement
    return statement


def resolve_session(
    database: Database,
    token: str | None,
    config: AuthConfig,
    *,
    grants_max_age_hours: float,
    companion: Companion | None = None,
) -> LiveSession:
    """The live session for a cookie token, or ``not_authenticated`` / ``session_expired``
    / ``account_disabled``; one statement (``_SESSION_QUERY``), which also reads
    ``companion``'s value when a route asks for one (``LiveSession.companion``).

    A PeeringDB user's session also expires once PeeringDB has not confirmed their networks
    (login or re-check) for ``grants_max_age_hours``.
    """
    if not token:
        raise AppError("not_authenticated")
    hashed = token_hash(token)
    # Plain columns, without the ORM or a transaction: every request reads this.
    if companion is None:
        rows = database.fetch(_SESSION_QUERY, {"token_hash": hashed})
    else:
        rows = database.fetch(_lookup_with(companion), {**companion.params, "token_hash": hashed})
    if not rows or rows[0].revoked_at is not None:
        raise AppError("not_authenticated")
    row = rows[0]
    now = utcnow()
    idle = timedelta(minutes=config.session_idle_minutes)
    if now >= row.expires_at or now - row.last_seen_at >= idle:
        raise AppError("session_expired")
    if not row.is_active:
        raise AppError("account_disabled")
    if row.method == "peeringdb" and grants_stale(
        row.peeringdb_checked_at, now, grants_max_age_hours
    ):
        raise AppError(
            "session_expired", "PeeringDB has not confirmed your networks lately; log in again"
        )
    return LiveSession(
        token_hash=hashed,
        user_id=row.user_id,
        csrf_token=row.csrf_token,
        method=row.method,
        last_seen_at=row.last_seen_at,
        caller=Caller.of_rows(rows),
        companion=None if companion is None else CompanionValue(companion, row.companion),
    )


# The "seen" time is written at most this often: reads stay reads the rest of the time.
SEEN_EVERY = timedelta(minutes=1)


def seen_due(row: UserSession | LiveSession) -> bool:
    return utcnow() - row.last_seen_at > SEEN_EVERY


def record_seen(db: Session, session_hash: str) -> None:
    """Move a session's ``last_seen_at`` on (a no-op if another request just did)."""
    now = utcnow()
    db.execute(
        update(UserSession)
        .where(UserSession.token_hash == session_hash, UserSession.last_seen_at < now - SEEN_EVERY)
        .values(last_seen_at=now)
    )


def check_csrf(session: UserSession | LiveSession, presented: str | None) -> None:
    if not presented or not hmac.compare_digest(session.csrf_token, presented):
        raise AppError("csrf_failed")


def revoke_session(session: UserSession) -> None:
    session.revoked_at = utcnow()


def revoke_user_sessions(db: Session, user_id: int) -> int:
    result = db.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def live_sessions(db: Session, user_id: int) -> list[UserSession]:
    return list(
        db.scalars(
            select(UserSession).where(
                UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
            )
        )
    )
