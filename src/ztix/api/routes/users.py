"""The Users admin page's API: accounts, their ASN grants and sessions, and the actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ztix.api.deps import AdminUser, Csrf, CurrentActor, DatabaseRoute, DbSession, SettingsDep
from ztix.api.problems import responses
from ztix.api.schemas.users import (
    GrantBody,
    RevokedOut,
    RoleBody,
    SessionOut,
    UserDetail,
    UserOut,
)
from ztix.auth.sessions import live_sessions
from ztix.db.models import User
from ztix.workflow import user_admin
from ztix.workflow import users as accounts
from ztix.workflow.user_admin import get_user

# A users.id: a positive 32-bit integer (PostgreSQL INTEGER), else 422 before any query.
UserId = Annotated[int, Path(ge=1, le=2_147_483_647)]

router = APIRouter(
    route_class=DatabaseRoute, prefix="/api/v1/admin/users", tags=["admin"], dependencies=[Csrf]
)

AUTH = ("not_authenticated", "session_expired", "account_disabled", "admin_required")
CHANGE = (*AUTH, "csrf_failed", "user_not_found")


def _detail(db: DbSession, user: User) -> UserDetail:
    sessions = sorted(live_sessions(db, user.id), key=lambda s: s.created_at, reverse=True)
    base = UserOut.of(user, sum(1 for s in sessions if s.revoked_at is None))
    return UserDetail(**base.model_dump(), sessions=[SessionOut.of(s) for s in sessions])


@router.get("", response_model=list[UserOut], responses=responses(*AUTH))
def admin_list_users(db: DbSession, _admin: AdminUser) -> list[UserOut]:
    """Every account, by username: role, how it logs in, last login, disabled, its ASN
    grants and how many live sessions it has."""
    counts = user_admin.live_session_counts(db)
    return [UserOut.of(u, counts.get(u.id, 0)) for u in accounts.list_users(db)]


@router.get("/{user_id}", response_model=UserDetail, responses=responses(*AUTH, "user_not_found"))
def admin_get_user(user_id: UserId, db: DbSession, _admin: AdminUser) -> UserDetail:
    """An account with its grants and its sessions."""
    return _detail(db, get_user(db, user_id))


@router.post(
    "/{user_id}/disable", response_model=UserDetail, responses=responses(*CHANGE, "forbidden")
)
def admin_disable_user(
    user_id: UserId, db: DbSession, _admin: AdminUser, actor: CurrentActor
) -> UserDetail:
    """Disable an account and end its sessions (``forbidden`` for yourself)."""
    user = user_admin.set_active(db, actor, user_id, False)
    db.commit()
    return _detail(db, user)


@router.post("/{user_id}/enable", response_model=UserDetail, responses=responses(*CHANGE))
def admin_enable_user(
    user_id: UserId, db: DbSession, _admin: AdminUser, actor: CurrentActor
) -> UserDetail:
    """Enable a disabled account."""
    user = user_admin.set_active(db, actor, user_id, True)
    db.commit()
    return _detail(db, user)


@router.put("/{user_id}/role", response_model=UserDetail, responses=responses(*CHANGE, "forbidden"))
def admin_set_user_role(
    user_id: UserId, body: RoleBody, db: DbSession, _admin: AdminUser, actor: CurrentActor
) -> UserDetail:
    """Make an account an admin or an operator (``forbidden`` to drop your own admin role)."""
    user = user_admin.set_role(db, actor, user_id, body.role)
    db.commit()
    return _detail(db, user)


@router.post("/{user_id}/sessions/revoke", response_model=RevokedOut, responses=responses(*CHANGE))
def admin_revoke_user_sessions(
    user_id: UserId, db: DbSession, _admin: AdminUser, actor: CurrentActor
) -> RevokedOut:
    """End every live session of the account at once."""
    revoked = user_admin.revoke_all_sessions(db, actor, user_id)
    db.commit()
    return RevokedOut(revoked=revoked)


@router.post(
    "/{user_id}/grants", response_model=UserDetail, responses=responses(*CHANGE, "invalid_asn")
)
def admin_add_user_grant(
    user_id: UserId,
    body: GrantBody,
    db: DbSession,
    _admin: AdminUser,
    actor: CurrentActor,
    settings: SettingsDep,
) -> UserDetail:
    """Let the account act for an ASN (a manual grant, source ``local``)."""
    user = user_admin.add_grant(
        db, actor, user_id, body.asn, allow_private=settings.workflow.allow_private_asns
    )
    db.commit()
    return _detail(db, user)


@router.delete(
    "/{user_id}/grants/{asn}", response_model=UserDetail, responses=responses(*CHANGE, "forbidden")
)
def admin_remove_user_grant(
    user_id: UserId, asn: int, db: DbSession, _admin: AdminUser, actor: CurrentActor
) -> UserDetail:
    """Remove a manual grant; a PeeringDB grant follows PeeringDB (``forbidden``)."""
    user = user_admin.remove_grant(db, actor, user_id, asn)
    db.commit()
    return _detail(db, user)
