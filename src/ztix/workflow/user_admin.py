"""What an IX admin does to accounts from the web app: enable or disable, make or remove
admin, end sessions, add or remove a manual (local) ASN grant. Every change is audited;
an admin never disables themselves or drops their own admin role (nor the last admin's)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ztix.auth.sessions import live_sessions, revoke_user_sessions
from ztix.db.base import utcnow
from ztix.db.models import User, UserAsn, UserSession
from ztix.domain.identifiers import InvalidIdentifier, validate_asn
from ztix.errors import AppError
from ztix.workflow import audit
from ztix.workflow.audit import Actor

Role = Literal["admin", "operator"]


def get_user(db: Session, user_id: int, *, lock: bool = False) -> User:
    query = select(User).where(User.id == user_id)
    user = db.scalar(query.with_for_update(of=User) if lock else query)
    if user is None:
        raise AppError("user_not_found", f"no user {user_id}")
    return user


def live_session_counts(db: Session) -> dict[int, int]:
    """Live (not revoked, not expired) sessions per user ID."""
    rows = db.execute(
        select(UserSession.user_id, func.count())
        .where(UserSession.revoked_at.is_(None), UserSession.expires_at > utcnow())
        .group_by(UserSession.user_id)
    )
    return {int(uid): int(n) for uid, n in rows}


def _record(db: Session, actor: Actor, action: str, user: User, **details: object) -> None:
    audit.record(
        db,
        actor,
        action,
        target_type="user",
        target_id=user.id,
        details={"username": user.username, **details},
    )


def _not_self(actor: Actor, user: User, what: str) -> None:
    if actor.user_id == user.id:
        raise AppError("forbidden", f"an admin cannot {what} themselves")


def set_active(db: Session, actor: Actor, user_id: int, active: bool) -> User:
    user = get_user(db, user_id, lock=True)
    if user.is_active == active:
        return user
    if not active:
        _not_self(actor, user, "disable")
    user.is_active = active
    revoked = 0 if active else revoke_user_sessions(db, user.id)
    _record(
        db, actor, "user.enabled" if active else "user.disabled", user, sessions_revoked=revoked
    )
    return user


def set_role(db: Session, actor: Actor, user_id: int, role: Role) -> User:
    user = get_user(db, user_id, lock=True)
    if user.role == role:
        return user
    if role != "admin":
        _not_self(actor, user, "remove the admin role from")
    before = user.role
    user.role = role
    _record(db, actor, "user.role_changed", user, before=before, after=role)
    return user


def revoke_all_sessions(db: Session, actor: Actor, user_id: int) -> int:
    user = get_user(db, user_id)
    sessions = live_sessions(db, user.id)
    now = utcnow()
    for session in sessions:
        session.revoked_at = now
    _record(
        db,
        actor,
        "user.sessions_revoked",
        user,
        sessions=[s.token_hash[:12] for s in sessions],
        reason="admin",
    )
    return len(sessions)


def add_grant(db: Session, actor: Actor, user_id: int, asn: int, *, allow_private: bool) -> User:
    """A manual grant (``source: local``): the user may act for ``asn``. Idempotent."""
    try:
        asn = validate_asn(asn, allow_private=allow_private)
    except InvalidIdentifier as exc:
        raise AppError(exc.code, exc.detail) from exc
    user = get_user(db, user_id, lock=True)
    if any(g.asn == asn for g in user.asns):
        return user
    user.asns.append(UserAsn(asn=asn, source="local"))
    _record(db, actor, "user.grant_added", user, asn=asn, source="local")
    return user


def remove_grant(db: Session, actor: Actor, user_id: int, asn: int) -> User:
    """Remove a manual grant. A PeeringDB grant follows PeeringDB and is refused here."""
    user = get_user(db, user_id, lock=True)
    grant = next((g for g in user.asns if g.asn == asn), None)
    if grant is None:
        return user
    if grant.source != "local":
        raise AppError(
            "forbidden",
            f"AS{asn} is granted by PeeringDB and follows it; it cannot be removed here",
        )
    user.asns.remove(grant)
    _record(db, actor, "user.grant_removed", user, asn=asn, source="local")
    return user
