"""Server-side sessions. The cookie carries a random token; the database keeps its hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from ztix.config import AuthConfig
from ztix.db.base import utcnow
from ztix.db.models import User, UserSession
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


def resolve_session(
    db: Session, token: str | None, config: AuthConfig, *, grants_max_age_hours: float
) -> UserSession:
    """The live session for a cookie token, or ``not_authenticated`` / ``session_expired``.

    A PeeringDB user's session also expires once PeeringDB has not confirmed their networks
    (login or re-check) for ``grants_max_age_hours``.
    """
    if not token:
        raise AppError("not_authenticated")
    # One statement: the session, its user and the user's ASNs (which every member page
    # reads), instead of three round trips to the database.
    row = db.get(
        UserSession,
        token_hash(token),
        options=[joinedload(UserSession.user).joinedload(User.asns)],
    )
    if row is None or row.revoked_at is not None:
        raise AppError("not_authenticated")
    now = utcnow()
    idle = timedelta(minutes=config.session_idle_minutes)
    if now >= row.expires_at or now - row.last_seen_at >= idle:
        raise AppError("session_expired")
    if not row.user.is_active:
        raise AppError("account_disabled")
    checked = row.user.peeringdb_checked_at
    if row.method == "peeringdb" and (
        checked is None or now - checked >= timedelta(hours=grants_max_age_hours)
    ):
        raise AppError(
            "session_expired", "PeeringDB has not confirmed your networks lately; log in again"
        )
    return row


# The "seen" time is written at most this often: reads stay reads the rest of the time.
SEEN_EVERY = timedelta(minutes=1)


def seen_due(row: UserSession) -> bool:
    return utcnow() - row.last_seen_at > SEEN_EVERY


def record_seen(db: Session, session_hash: str) -> None:
    """Move a session's ``last_seen_at`` on (a no-op if another request just did)."""
    now = utcnow()
    db.execute(
        update(UserSession)
        .where(UserSession.token_hash == session_hash, UserSession.last_seen_at < now - SEEN_EVERY)
        .values(last_seen_at=now)
    )


def check_csrf(session: UserSession, presented: str | None) -> None:
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
