"""Accounts: local users made with the CLI, and PeeringDB users upserted at login."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ztix.auth.passwords import hash_password
from ztix.auth.sessions import revoke_user_sessions
from ztix.db.base import utcnow
from ztix.db.models import IxNetwork, LocalCredential, User, UserAsn, UserNetworkGrant
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
    user = get_user_by_username(db, username)
    if user is None:
        raise AppError("user_not_found", f"no user {username!r}")
    user.is_active = False
    revoked = revoke_user_sessions(db, user.id)
    audit.record(
        db,
        actor,
        "user.disabled",
        target_type="user",
        target_id=user.id,
        details={"username": user.username, "sessions_revoked": revoked},
    )
    return user


def list_users(db: Session) -> list[User]:
    return list(db.scalars(select(User).order_by(User.username)))


def count_admins(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(User).where(User.role == "admin")) or 0)


@dataclass(frozen=True)
class GrantedAsn:
    asn: int
    name: str
    perms: int


def upsert_peeringdb_user(
    db: Session,
    *,
    peeringdb_id: int,
    name: str,
    email: str | None,
    asns: Iterable[GrantedAsn],
    admin: bool,
) -> User:
    """Create or refresh a PeeringDB user and replace its PeeringDB-sourced ASNs.

    Locally granted ASNs (CLI) are kept; admin rights come from configuration and are only
    ever added here, never taken away from a CLI-made admin.
    """
    user = db.scalar(select(User).where(User.peeringdb_id == peeringdb_id))
    if user is None:
        user = User(
            username=f"peeringdb:{peeringdb_id}",
            peeringdb_id=peeringdb_id,
            role="operator",
            is_active=True,
        )
        db.add(user)
    user.display_name = name
    user.email = email
    if admin:
        user.role = "admin"
    db.flush()
    db.execute(delete(UserAsn).where(UserAsn.user_id == user.id, UserAsn.source == "peeringdb"))
    now = utcnow()
    for granted in {g.asn: g for g in asns}.values():
        db.add(
            UserAsn(
                user_id=user.id,
                asn=granted.asn,
                source="peeringdb",
                peeringdb_perms=granted.perms,
                network_name=granted.name[:255],
                granted_at=now,
            )
        )
    db.flush()
    db.refresh(user)
    return user


def set_password(db: Session, actor: Actor, username: str, password: str) -> User:
    user = get_user_by_username(db, username)
    if user is None:
        raise AppError("user_not_found", f"no user {username!r}")
    password_hash = hash_password(password)
    if user.credential is None:
        user.credential = LocalCredential(password_hash=password_hash)
    else:
        user.credential.password_hash = password_hash
        user.credential.updated_at = utcnow()
    revoked = revoke_user_sessions(db, user.id)
    audit.record(
        db,
        actor,
        "user.password_set",
        target_type="user",
        target_id=user.id,
        details={"username": user.username, "sessions_revoked": revoked},
    )
    return user
