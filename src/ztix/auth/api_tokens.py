"""API tokens for automation (``Authorization: Bearer ztix_…``).

The secret is random (256 bits), shown once, and stored as its SHA-256 like a session
token. A token is worth what its owner holds *now*: every request re-reads the owner, so a
disabled owner, an admin demoted, or an ASN lost (PeeringDB re-check, ``ztix users``) takes
the token's rights with it. A member token acts for the ASNs it names, never as an admin;
an admin token (admins only) acts as its admin.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ztix.auth.sessions import token_hash
from ztix.db.base import utcnow
from ztix.db.models import ADMIN_SCOPE, TOKEN_SCOPE, ApiToken
from ztix.errors import AppError

TOKEN_PREFIX = "ztix_"  # noqa: S105 - how tokens start, not a secret
# How much of a token lists show (and the table keeps in clear): enough to tell tokens
# apart, far too little to guess the rest.
SHOWN_CHARS = 12
# ``last_used_at`` is written at most this often: reads stay reads the rest of the time.
USED_EVERY = timedelta(minutes=1)


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def prefix_of(secret: str) -> str:
    return secret[:SHOWN_CHARS]


def resolve(db: Session, presented: str, *, grants_max_age_hours: float) -> ApiToken:
    """The live token for ``presented``, its owner narrowed to what it may do in this
    request; ``token_invalid`` or ``account_disabled`` otherwise (which of unknown, expired
    or revoked is not told)."""
    if not presented.startswith(TOKEN_PREFIX):
        raise AppError("token_invalid")
    row = db.scalar(select(ApiToken).where(ApiToken.secret_hash == token_hash(presented)))
    now = utcnow()
    if row is None or row.revoked_at is not None or now >= row.expires_at:
        raise AppError("token_invalid")
    owner = row.user
    if not owner.is_active:
        raise AppError("account_disabled")
    if row.kind == "admin" and owner.role != "admin":
        raise AppError("token_invalid", "The token's owner is no longer an IX admin")
    checked = owner.peeringdb_checked_at
    if owner.peeringdb_id is not None and (
        checked is None or now - checked >= timedelta(hours=grants_max_age_hours)
    ):
        raise AppError("token_invalid", "PeeringDB has not confirmed the owner's networks lately")
    setattr(owner, TOKEN_SCOPE, ADMIN_SCOPE if row.kind == "admin" else frozenset(row.asns))
    return row


def use_due(row: ApiToken) -> bool:
    return row.last_used_at is None or utcnow() - row.last_used_at > USED_EVERY


def record_use(db: Session, token_id: int) -> None:
    """Move a token's ``last_used_at`` on (a no-op if another request just did)."""
    now = utcnow()
    db.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < now - USED_EVERY),
        )
        .values(last_used_at=now)
    )


def label(row: ApiToken) -> str:
    """How audit events name a token: never its secret."""
    return f"{row.name} ({row.prefix}…, #{row.id})"
