"""Creating, listing and revoking API tokens (the secret's handling is ``auth/api_tokens``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ztix.auth import api_tokens
from ztix.auth.sessions import token_hash
from ztix.config import Settings
from ztix.db.base import utcnow
from ztix.db.models import ApiToken, User
from ztix.errors import AppError
from ztix.workflow import audit
from ztix.workflow.audit import Actor


def create(
    db: Session,
    settings: Settings,
    user: User,
    actor: Actor,
    *,
    name: str,
    kind: str,
    asns: list[int],
    write: bool,
    expires_in_days: int,
) -> tuple[str, ApiToken]:
    """A new token of ``user``; returns its secret (shown once) and its row. A member token
    names ASNs the user holds now; an admin token is an admin's, with no ASNs."""
    max_days = settings.auth.api_token_max_days
    if expires_in_days > max_days:
        raise AppError("validation_failed", f"A token may live at most {max_days} days")
    wanted = sorted(set(asns))
    if kind == "admin":
        if not user.is_admin:
            raise AppError("admin_required", "Only IX admins may create admin tokens")
        if wanted:
            raise AppError("validation_failed", "An admin token names no ASNs")
    else:
        if not wanted:
            raise AppError("validation_failed", "Name at least one ASN the token acts for")
        missing = [a for a in wanted if a not in user.held_asns()]
        if missing:
            raise AppError("asn_not_authorized", f"You do not hold AS{missing[0]}")
    secret = api_tokens.new_secret()
    now = utcnow()
    row = ApiToken(
        user_id=user.id,
        name=name,
        kind=kind,
        prefix=api_tokens.prefix_of(secret),
        secret_hash=token_hash(secret),
        can_write=write,
        asns=wanted,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor,
        "api_token.created",
        target_type="api_token",
        target_id=row.id,
        details={
            "name": name,
            "prefix": row.prefix,
            "kind": kind,
            "asns": wanted,
            "write": write,
            "expires_at": row.expires_at.isoformat(),
        },
    )
    return secret, row


def owned(db: Session, user: User) -> list[ApiToken]:
    """The user's tokens, live ones first, newest first."""
    rows = db.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    )
    return sorted(rows, key=lambda r: r.revoked_at is not None)


def live(db: Session) -> list[ApiToken]:
    """Every token not revoked nor expired, of every user (admins' oversight)."""
    query = select(ApiToken).where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow())
    return list(db.scalars(query.order_by(ApiToken.id.desc())))


def revoke(db: Session, user: User | None, token_id: int, actor: Actor) -> ApiToken:
    """Revoke one of the user's tokens (again: a no-op). Someone else's answers 404;
    ``user`` None: any user's (an admin acting on a leaked token)."""
    row = db.get(ApiToken, token_id, with_for_update=True)
    if row is None or (user is not None and row.user_id != user.id):
        raise AppError("token_not_found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            db,
            actor,
            "api_token.revoked",
            target_type="api_token",
            target_id=row.id,
            details={"name": row.name, "prefix": row.prefix, "owner_id": row.user_id},
        )
    return row
