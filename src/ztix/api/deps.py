"""Typed dependencies shared by every router (the FastAPI reference template's style)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from ztix.auth.ratelimit import RateLimits
from ztix.auth.sessions import check_csrf, resolve_session
from ztix.config import Settings
from ztix.db.models import User, UserSession
from ztix.db.session import Database
from ztix.errors import AppError
from ztix.workflow.audit import Actor

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_db(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """A session per HTTP request. Handlers commit explicitly; anything else rolls back."""
    with database.sessionmaker() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbSession = Annotated[Session, Depends(get_db)]


def client_address(request: Request, settings: SettingsDep) -> str:
    """The client's address; X-Forwarded-For is believed only from a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    trusted = settings.server.trusted_proxies
    if not trusted or not _in_any(peer, trusted):
        return peer
    forwarded = [a.strip() for a in request.headers.get("x-forwarded-for", "").split(",")]
    # Walk from the nearest hop outwards; the first address not a trusted proxy is the client.
    for hop in reversed([a for a in forwarded if a]):
        if not _in_any(hop, trusted):
            return hop
    return peer


def _in_any(address: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


ClientAddress = Annotated[str, Depends(client_address)]


def get_rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


RateLimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]


def limit_writes(request: Request, address: ClientAddress, limits: RateLimitsDep) -> None:
    """Every state-changing request counts against its client address (an app-wide
    dependency, so anonymous ones such as logins count too)."""
    if request.method in UNSAFE_METHODS:
        limits.write_by_address(address)


def current_session(request: Request, db: DbSession, settings: SettingsDep) -> UserSession:
    session = resolve_session(
        db,
        request.cookies.get(settings.auth.cookie_name),
        settings.auth,
        grants_max_age_hours=settings.peeringdb.recheck_max_age_hours,
    )
    if db.dirty:
        db.commit()  # last_seen_at moved on
    return session


CurrentSession = Annotated[UserSession, Depends(current_session)]


def current_user(session: CurrentSession) -> User:
    return session.user


CurrentUser = Annotated[User, Depends(current_user)]


def admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise AppError("admin_required")
    return user


AdminUser = Annotated[User, Depends(admin_user)]


def csrf_protect(
    request: Request,
    session: CurrentSession,
    limits: RateLimitsDep,
    x_csrf_token: Annotated[str | None, Header(description="From GET /api/v1/me")] = None,
) -> None:
    """State-changing requests must echo the session's CSRF token in ``X-CSRF-Token``, and
    a member's count against their write limit. Admins work through queues (hundreds of
    approvals in a sitting): only their address's limit applies to them."""
    if request.method in UNSAFE_METHODS:
        check_csrf(session, x_csrf_token)
        if not session.user.is_admin:
            limits.write_by_user(session.user_id)


Csrf = Depends(csrf_protect)


def actor(user: CurrentUser, address: ClientAddress) -> Actor:
    return Actor.for_user(user, address)


CurrentActor = Annotated[Actor, Depends(actor)]
