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

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ztix.auth.caller import Caller, LiveToken, grants_stale
from ztix.auth.sessions import token_hash
from ztix.db.base import utcnow
from ztix.db.models import ADMIN_SCOPE, ApiToken, User, UserAsn
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


# The look-up of a bearer token: the token, its owner and the owner's ASNs (one row per ASN,
# or one with none), by the secret hash's unique index and ``user_asns.user_id``'s. Columns,
# not ORM rows, and built once: this runs on every request a token makes.
_TOKEN_QUERY = (
    select(
        ApiToken.id,
        ApiToken.user_id,
        ApiToken.name,
        ApiToken.kind,
        ApiToken.prefix,
        ApiToken.can_write,
        ApiToken.asns.label("token_asns"),
        ApiToken.expires_at,
        ApiToken.last_used_at,
        ApiToken.revoked_at,
        User.username,
        User.role,
        User.is_active,
        User.peeringdb_id,
        User.peeringdb_checked_at,
        UserAsn.asn,
    )
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(UserAsn, UserAsn.user_id == User.id)
    .where(ApiToken.secret_hash == bindparam("secret_hash"))
)


def resolve(db: Session, presented: str, *, grants_max_age_hours: float) -> LiveToken:
    """The live token for ``presented``, its owner narrowed to what it may do in this
    request; ``token_invalid`` or ``account_disabled`` otherwise (which of unknown, expired
    or revoked is not told). One statement (``_TOKEN_QUERY``)."""
    if not presented.startswith(TOKEN_PREFIX):
        raise AppError("token_invalid")
    rows = db.execute(_TOKEN_QUERY, {"secret_hash": token_hash(presented)}).all()
    now = utcnow()
    if not rows or rows[0].revoked_at is not None or now >= rows[0].expires_at:
        raise AppError("token_invalid")
    row = rows[0]
    if not row.is_active:
        raise AppError("account_disabled")
    if row.kind == "admin" and row.role != "admin":
        raise AppError("token_invalid", "The token's owner is no longer an IX admin")
    if row.peeringdb_id is not None and grants_stale(
        row.peeringdb_checked_at, now, grants_max_age_hours
    ):
        raise AppError("token_invalid", "PeeringDB has not confirmed the owner's networks lately")
    caller = Caller.of_rows(
        rows, scope=ADMIN_SCOPE if row.kind == "admin" else frozenset(row.token_asns)
    )
    return LiveToken(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        kind=row.kind,
        can_write=row.can_write,
        last_used_at=row.last_used_at,
        caller=caller,
    )


def use_due(row: ApiToken | LiveToken) -> bool:
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


def label(row: ApiToken | LiveToken) -> str:
    """How audit events name a token: never its secret."""
    return f"{row.name} ({row.prefix}…, #{row.id})"
