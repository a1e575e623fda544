"""PeeringDB grants follow PeeringDB (DESIGN §2, "Grants follow their source").

A PeeringDB user's PeeringDB-sourced ASNs, and their role, are exactly what the last
successful check said: each login, and the periodic re-check (``jobs/tasks.py``). When a
check shows fewer rights than stored:

- the lost ASNs' grants are deleted and audited (``user.grants_revoked``);
- every session of the user is revoked (a new login starts from the new rights);
- pending requests of a lost ASN are cancelled with reason ``grant_revoked`` through the
  state machine (counters and audit included) when this user filed them or nobody else
  active still holds the ASN;
- live members of such requests are not removed: ``grant_lost_at`` flags them in the admin
  queue, until the ASN is granted to that user again or an admin keeps the member
  (:func:`keep_member`) or removes it.

Locally granted ASNs (CLI) are left alone and keep an ASN held.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ztix.auth.identity import (
    OAuthTokens,
    PeeringDBIdentity,
    check_verified,
    eligible_networks,
)
from ztix.auth.sessions import revoke_user_sessions
from ztix.auth.tokens import TokenCipher
from ztix.config import Settings
from ztix.db.base import utcnow
from ztix.db.models import JoinRequest, PeeringDBToken, User, UserAsn, UserSession
from ztix.domain.identifiers import InvalidIdentifier, validate_asn
from ztix.domain.requests import CLOSED_STATUSES, RequestStatus
from ztix.errors import AppError
from ztix.workflow import audit
from ztix.workflow.audit import Actor
from ztix.workflow.requests import lock_request, transition

GRANT_REVOKED = "grant_revoked"
# Live requests that are not pending: flagged, never removed automatically.
_FLAGGED = frozenset(RequestStatus) - CLOSED_STATUSES - {RequestStatus.PENDING}


@dataclass(frozen=True)
class GrantedAsn:
    asn: int
    name: str
    perms: int


@dataclass(frozen=True)
class GrantsApplied:
    added: tuple[int, ...]
    # ASNs the user no longer holds at all (a local grant keeps an ASN held).
    lost: tuple[int, ...]
    role_changed: bool
    sessions_revoked: int
    cancelled: tuple[uuid.UUID, ...]
    flagged: tuple[uuid.UUID, ...]


def _peerable(asn: int, settings: Settings) -> bool:
    """PeeringDB lists reserved and private ASNs too; only those that may peer are granted."""
    try:
        validate_asn(asn, allow_private=settings.workflow.allow_private_asns)
    except InvalidIdentifier:
        return False
    return True


def entitlement(identity: PeeringDBIdentity, settings: Settings) -> tuple[list[GrantedAsn], bool]:
    """What PeeringDB's answer entitles the user to: the ASNs of the networks whose
    ``perms`` hold every bit of ``peeringdb.required_perms`` and that may peer, and whether
    they are a configured admin. An unverified account is entitled to nothing."""
    try:
        check_verified(identity)
    except AppError:
        return [], False
    networks = eligible_networks(identity, settings.peeringdb.required_perms)
    granted = [
        GrantedAsn(asn=n.asn, name=n.name, perms=n.perms)
        for n in networks
        if _peerable(n.asn, settings)
    ]
    return granted, identity.id in settings.peeringdb.admin_user_ids


def store_tokens(
    db: Session, settings: Settings, user_id: int, tokens: OAuthTokens | None, *, checked: bool
) -> None:
    """Keep ``tokens`` encrypted for the re-check; without a key (or tokens) keep none.

    ``checked``: PeeringDB's answer was just applied (a login or a successful re-check), so
    the attempt is now and there is no error; otherwise only the tokens change (a refresh
    whose profile read is still to come).
    """
    cipher = TokenCipher.from_config(settings.peeringdb)
    row = db.get(PeeringDBToken, user_id)
    if cipher is None or tokens is None:
        if row is not None and checked:
            db.delete(row)
        return
    now = utcnow()
    if row is None:
        row = PeeringDBToken(user_id=user_id, last_attempt_at=now)
        db.add(row)
    row.access_token = cipher.encrypt(tokens.access_token)
    row.refresh_token = cipher.encrypt(tokens.refresh_token) if tokens.refresh_token else None
    row.access_expires_at = (
        datetime.fromtimestamp(tokens.expires_at, UTC) if tokens.expires_at is not None else None
    )
    row.updated_at = now
    if checked:
        row.last_attempt_at = now
        row.last_error = None


def find_peeringdb_user(db: Session, peeringdb_id: int) -> User | None:
    return db.scalar(select(User).where(User.peeringdb_id == peeringdb_id))


def upsert_peeringdb_user(db: Session, *, peeringdb_id: int, name: str, email: str | None) -> User:
    """Create or refresh a PeeringDB user's profile; grants are :func:`apply_grants`'s."""
    user = find_peeringdb_user(db, peeringdb_id)
    if user is None:
        # Two first logins at once: the unique peeringdb_id lets one insert win; the other
        # rolls back its savepoint and takes the winner's row.
        try:
            with db.begin_nested():
                user = User(
                    username=f"peeringdb:{peeringdb_id}",
                    peeringdb_id=peeringdb_id,
                    role="operator",
                    is_active=True,
                )
                db.add(user)
        except IntegrityError:
            user = find_peeringdb_user(db, peeringdb_id)
            if user is None:
                raise
    user.display_name = name
    user.email = email
    db.flush()
    return user


def apply_grants(
    db: Session,
    user: User,
    granted: Iterable[GrantedAsn],
    *,
    admin: bool,
    actor: Actor,
    source: str,
) -> GrantsApplied:
    """Make ``user``'s PeeringDB ASNs and role exactly what PeeringDB said just now.

    ``source`` says which check it was ("login" or "recheck"), for the audit trail. The
    user's row is locked first, so a login and a re-check of one user apply one after the
    other.
    """
    db.execute(select(User.id).where(User.id == user.id).with_for_update())
    db.refresh(user, ["asns", "role"])
    wanted = {g.asn: g for g in granted}
    current = {a.asn: a for a in user.asns if a.source == "peeringdb"}
    local = {a.asn for a in user.asns if a.source != "peeringdb"}
    now = utcnow()
    for asn, row in current.items():
        if asn not in wanted:
            user.asns.remove(row)
    for asn, grant in wanted.items():
        row = current.get(asn) or UserAsn(asn=asn, source="peeringdb", granted_at=now)
        row.peeringdb_perms = grant.perms
        row.network_name = grant.name[:255]
        if asn not in current:
            user.asns.append(row)
    role = "admin" if admin else "operator"
    role_changed = user.role != role
    old_role, user.role = user.role, role
    user.peeringdb_checked_at = now
    db.flush()

    added = tuple(sorted(set(wanted) - set(current) - local))
    removed = sorted(set(current) - set(wanted))
    lost = tuple(asn for asn in removed if asn not in local)
    revoked = revoke_user_sessions(db, user.id) if lost or role_changed else 0
    details = {"via": source, "sessions_revoked": revoked}
    if removed:
        audit.record(
            db,
            actor,
            "user.grants_revoked",
            target_type="user",
            target_id=user.id,
            details={
                "asns": removed,
                "still_granted_locally": sorted(set(removed) & local),
                **details,
            },
        )
    if added:
        audit.record(
            db,
            actor,
            "user.grants_added",
            target_type="user",
            target_id=user.id,
            details={"asns": list(added), "via": source},
        )
    if role_changed:
        audit.record(
            db,
            actor,
            "user.role_changed",
            target_type="user",
            target_id=user.id,
            details={"from": old_role, "to": role, **details},
        )
    cancelled: list[uuid.UUID] = []
    flagged: list[uuid.UUID] = []
    for asn in lost:
        c, f = _follow_lost_asn(db, user, asn, actor)
        cancelled += c
        flagged += f
    for asn in added:
        _clear_flags(db, user, asn, actor)
    return GrantsApplied(
        added=added,
        lost=lost,
        role_changed=role_changed,
        sessions_revoked=revoked,
        cancelled=tuple(cancelled),
        flagged=tuple(flagged),
    )


def _follow_lost_asn(
    db: Session, user: User, asn: int, actor: Actor
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Cancel the pending requests and flag the live members ``user`` no longer backs."""
    held_by_others = exists(
        select(UserAsn.id)
        .join(User, User.id == UserAsn.user_id)
        .where(UserAsn.asn == asn, UserAsn.user_id != user.id, User.is_active)
    )
    affected = or_(JoinRequest.created_by_id == user.id, ~held_by_others)
    pending = db.scalars(
        select(JoinRequest.id).where(
            JoinRequest.asn == asn,
            JoinRequest.status == RequestStatus.PENDING.value,
            affected,
        )
    ).all()
    cancelled = []
    for request_id in pending:
        request = lock_request(db, request_id)
        if request.status != RequestStatus.PENDING.value:
            continue  # decided meanwhile
        request.decision_reason = GRANT_REVOKED
        request.decided_at = utcnow()
        transition(
            db,
            request,
            RequestStatus.CANCELLED,
            actor,
            "request.cancelled",
            {"reason": GRANT_REVOKED, "user": user.username},
        )
        cancelled.append(request.id)
    live = db.scalars(
        select(JoinRequest).where(
            JoinRequest.asn == asn,
            JoinRequest.status.in_([s.value for s in _FLAGGED]),
            JoinRequest.grant_lost_at.is_(None),
            affected,
        )
    ).all()
    now = utcnow()
    for request in live:
        request.grant_lost_at = now
        audit.record(
            db,
            actor,
            "request.grant_lost",
            target_type="request",
            target_id=request.id,
            request_id=request.id,
            details={"asn": asn, "user": user.username, "status": request.status},
        )
    return cancelled, [r.id for r in live]


def _clear_flags(db: Session, user: User, asn: int, actor: Actor) -> None:
    """The user holds ``asn`` again: their flagged requests of it are backed once more."""
    flagged = db.scalars(
        update(JoinRequest)
        .where(
            JoinRequest.asn == asn,
            JoinRequest.created_by_id == user.id,
            JoinRequest.grant_lost_at.is_not(None),
        )
        .values(grant_lost_at=None)
        .returning(JoinRequest.id)
    ).all()
    for request_id in flagged:
        audit.record(
            db,
            actor,
            "request.grant_restored",
            target_type="request",
            target_id=request_id,
            request_id=request_id,
            details={"asn": asn, "user": user.username},
        )


def keep_member(db: Session, request_id: uuid.UUID, actor: Actor) -> JoinRequest:
    """An admin keeps a member whose requester lost the ASN: the flag goes (audited).
    Keeping one that is not flagged changes nothing."""
    request = lock_request(db, request_id)
    if request.grant_lost_at is not None:
        audit.record(
            db,
            actor,
            "request.grant_lost_kept",
            target_type="request",
            target_id=request.id,
            request_id=request.id,
            details={"flagged_at": request.grant_lost_at.isoformat()},
        )
        request.grant_lost_at = None
    return request


# --- the periodic re-check (jobs/tasks.py: recheck_peeringdb) ----------------------------

RECHECK = Actor(name="peeringdb-recheck")


@dataclass(frozen=True)
class DueCheck:
    user_id: int
    peeringdb_id: int
    tokens: OAuthTokens


def claim_due_checks(db: Session, settings: Settings, limit: int) -> list[DueCheck]:
    """PeeringDB users whose last re-check attempt is older than the interval, claimed.

    Claiming moves ``last_attempt_at`` to now with a conditional UPDATE, so two workers
    never check one user in the same period. Tokens no configured key opens are recorded
    as an error and skipped (the user logs in again at the maximum age).
    """
    now = utcnow()
    cutoff = now - timedelta(hours=settings.peeringdb.recheck_interval_hours)
    due = or_(PeeringDBToken.last_attempt_at.is_(None), PeeringDBToken.last_attempt_at < cutoff)
    rows = db.execute(
        select(PeeringDBToken.user_id, User.peeringdb_id)
        .join(User, User.id == PeeringDBToken.user_id)
        .where(due, User.is_active, User.peeringdb_id.is_not(None))
        .order_by(PeeringDBToken.last_attempt_at.nulls_first())
        .limit(limit)
    ).all()
    cipher = TokenCipher.from_config(settings.peeringdb)
    claimed = []
    for user_id, peeringdb_id in rows:
        won = db.execute(
            update(PeeringDBToken)
            .where(PeeringDBToken.user_id == user_id, due)
            .values(last_attempt_at=now)
        )
        if getattr(won, "rowcount", 0) != 1 or peeringdb_id is None:
            continue
        row = db.get(PeeringDBToken, user_id)
        assert row is not None
        access = cipher.decrypt(row.access_token) if cipher else None
        refresh = cipher.decrypt(row.refresh_token) if cipher and row.refresh_token else None
        if access is None:
            row.last_error = "token_unreadable: no configured peeringdb.token_keys key opens it"
            continue
        expires = row.access_expires_at
        claimed.append(
            DueCheck(
                user_id=user_id,
                peeringdb_id=peeringdb_id,
                tokens=OAuthTokens(
                    access_token=access,
                    refresh_token=refresh,
                    expires_at=expires.timestamp() if expires is not None else None,
                ),
            )
        )
    return claimed


def recheck_failed(db: Session, user_id: int, error: AppError) -> None:
    """PeeringDB did not answer (or refused the token): keep every grant, record why."""
    row = db.get(PeeringDBToken, user_id)
    if row is not None:
        row.last_error = f"{error.code}: {error.detail}"[:500]


def recheck_succeeded(
    db: Session, settings: Settings, user_id: int, identity: PeeringDBIdentity
) -> GrantsApplied | None:
    """Apply what PeeringDB says now and keep the (maybe refreshed) tokens."""
    user = db.get(User, user_id)
    if user is None or not user.is_active:
        return None
    granted, admin = entitlement(identity, settings)
    applied = apply_grants(db, user, granted, admin=admin, actor=RECHECK, source="recheck")
    store_tokens(db, settings, user_id, identity.tokens, checked=True)
    return applied


def end_unconfirmed_sessions(db: Session, settings: Settings) -> int:
    """Revoke the PeeringDB sessions of users whose networks PeeringDB has not confirmed
    for ``peeringdb.recheck_max_age_hours`` (they are refused already; this ends them)."""
    now = utcnow()
    cutoff = now - timedelta(hours=settings.peeringdb.recheck_max_age_hours)
    stale = db.scalars(
        select(UserSession)
        .join(User, User.id == UserSession.user_id)
        .where(
            UserSession.method == "peeringdb",
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
            or_(User.peeringdb_checked_at.is_(None), User.peeringdb_checked_at < cutoff),
        )
    ).all()
    by_user: dict[int, list[UserSession]] = {}
    for session in stale:
        session.revoked_at = now
        by_user.setdefault(session.user_id, []).append(session)
    for user_id, sessions in by_user.items():
        audit.record(
            db,
            RECHECK,
            "user.sessions_revoked",
            target_type="user",
            target_id=user_id,
            details={
                "sessions": [s.token_hash[:12] for s in sessions],
                "reason": "peeringdb_unconfirmed",
            },
        )
    return len(stale)
