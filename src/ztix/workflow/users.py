"""Accounts: local users made with the CLI, and their sessions (PeeringDB users and their
grants: :mod:`ztix.workflow.grants`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ztix.auth.passwords import hash_password
from ztix.auth.sessions import live_sessions, revoke_user_sessions
from ztix.db.base import utcnow
from ztix.db.models import (
    IxNetwork,
    LocalCredential,
    User,
    UserAsn,
    UserNetworkGrant,
    UserSession,
)
from ztix.errors import AppError
from ztix.workflow import audit
from ztix.workflow.audit import Actor


def get_user_by_username(db: Session, username: str) -> User | None:
    return db.scalar(select(User).where(func.lower(User.username) == username.lower()))


def create_local_user(
    db: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    admin: bool = False,
    asns: Sequence[int] = (),
    networks: Sequence[IxNetwork] = (),
    display_name: str = "",
    email: str | None = None,
) -> User:
    username = username.strip()
    if not username or len(username) > 150 or username.startswith("peeringdb:"):
        raise AppError("validation_failed", "username must be 1-150 characters")
    if get_user_by_username(db, username) is not None:
        raise AppError("user_exists", f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name or username,
        role="admin" if admin else "operator",
        is_active=True,
        email=(email or "").strip() or None,
    )
    user.credential = LocalCredential(password_hash=hash_password(password))
    user.asns = [UserAsn(asn=asn, source="local") for asn in dict.fromkeys(asns)]
    user.network_grants = [UserNetworkGrant(network=n) for n in networks]
    db.add(user)
    db.flush()
    audit.record(
        db,
        actor,
        "user.created",
        target_type="user",
        target_id=user.id,
        details={
            "username": username,
            "role": user.role,
            "asns": list(dict.fromkeys(asns)),
            "networks": [n.zt_network_id for n in networks],
        },
    )
    return user


def disable_user(db: Session, actor: Actor, username: str) -> User:
    user = _user(db, username)
    user.is_active = False
    _end_sessions(db, actor, user, "user.disabled")
    return user


def _end_sessions(db: Session, actor: Actor, user: User, action: str) -> None:
    """Revoke every session of ``user`` and audit ``action`` with how many ended: a disabled
    account or a new password leaves no one signed in with the old state."""
    revoked = revoke_user_sessions(db, user.id)
    audit.record(
        db,
        actor,
        action,
        target_type="user",
        target_id=user.id,
        details={"username": user.username, "sessions_revoked": revoked},
    )


def list_users(db: Session) -> list[User]:
    return list(db.scalars(select(User).order_by(User.username)))


def count_admins(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(User).where(User.role == "admin")) or 0)


def set_password(db: Session, actor: Actor, username: str, password: str) -> User:
    user = _user(db, username)
    password_hash = hash_password(password)
    if user.credential is None:
        user.credential = LocalCredential(password_hash=password_hash)
    else:
        user.credential.password_hash = password_hash
        user.credential.updated_at = utcnow()
    _end_sessions(db, actor, user, "user.password_set")
    return user


def _user(db: Session, username: str) -> User:
    user = get_user_by_username(db, username)
    if user is None:
        raise AppError("user_not_found", f"no user {username!r}")
    return user


def user_sessions(db: Session, username: str) -> list[UserSession]:
    """A user's sessions that are not revoked (expired ones included), newest first."""
    sessions = live_sessions(db, _user(db, username).id)
    return sorted(sessions, key=lambda s: s.created_at, reverse=True)


def revoke_sessions(
    db: Session, actor: Actor, username: str, prefix: str | None = None
) -> list[UserSession]:
    """End all of a user's sessions, or the one whose ID (token digest) starts ``prefix``."""
    user = _user(db, username)
    sessions = live_sessions(db, user.id)
    if prefix is not None:
        prefix = prefix.strip().lower()
        sessions = [s for s in sessions if prefix and s.token_hash.startswith(prefix)]
        if len(sessions) != 1:
            raise AppError(
                "validation_failed",
                f"{len(sessions)} live sessions of {user.username} start with {prefix!r}; "
                "give exactly one (a longer prefix)",
            )
    now = utcnow()
    for session in sessions:
        session.revoked_at = now
    audit.record(
        db,
        actor,
        "user.sessions_revoked",
        target_type="user",
        target_id=user.id,
        details={
            "username": user.username,
            "sessions": [s.token_hash[:12] for s in sessions],
            "reason": "admin",
        },
    )
    return sessions
