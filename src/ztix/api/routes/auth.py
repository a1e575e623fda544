"""Logging in (local accounts and PeeringDB), logging out, and who am I."""

from __future__ import annotations

import hmac
from datetime import timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from ztix.api.deps import (
    ClientAddress,
    Csrf,
    CurrentSession,
    DatabaseRoute,
    DbSession,
    RateLimitsDep,
    SettingsDep,
)
from ztix.api.problems import responses
from ztix.api.schemas.auth import AuthorizeUrl, LocalLogin, MeOut, OidcCallback
from ztix.auth.identity import PeeringDBIdentity, check_verified
from ztix.auth.passwords import verify_password
from ztix.auth.peeringdb import PeeringDBClient
from ztix.auth.sessions import new_token, revoke_session, start_session, token_hash
from ztix.config import Settings
from ztix.db.base import utcnow
from ztix.db.models import OidcLoginState, User
from ztix.errors import AppError
from ztix.workflow import audit, grants
from ztix.workflow.audit import Actor
from ztix.workflow.users import get_user_by_username

router = APIRouter(route_class=DatabaseRoute, prefix="/api/v1", tags=["auth"])

BINDING_COOKIE = "ztix_oidc_binding"
BINDING_PATH = "/api/v1/auth/peeringdb"


def _set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        settings.auth.cookie_name,
        token,
        max_age=int(settings.auth.session_ttl_hours * 3600),
        path="/",
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
    )


def _logged_in(
    db: Session,
    request: Request,
    response: Response,
    settings: Settings,
    user: User,
    *,
    method: str,
    address: str,
    **details: object,
) -> MeOut:
    """The end of every successful login: a fresh session (replacing the one the browser
    presented), the audit record, the session cookie, and who the user now is."""
    token, session = start_session(
        db,
        user,
        method=method,
        client_address=address,
        config=settings.auth,
        presented=request.cookies.get(settings.auth.cookie_name),
    )
    audit.record(
        db,
        Actor.for_user(user, address),
        "login.succeeded",
        target_type="user",
        target_id=user.id,
        details={"method": method, **details},
    )
    db.commit()
    _set_session_cookie(response, settings, token)
    return MeOut.of(user, session.csrf_token, method)


def _login_failed(
    db: Session,
    error: AppError,
    *,
    method: str,
    address: str,
    who: str = "anonymous",
    **extra: object,
) -> AppError:
    """Record a failed login in its own transaction and hand back the error to raise."""
    db.rollback()
    audit.record(
        db,
        Actor(name=who[:150], client_address=address),
        "login.failed",
        target_type="user",
        details={"method": method, "code": error.code, **error.extra, **extra},
    )
    db.commit()
    return error


@router.post(
    "/auth/local/login",
    response_model=MeOut,
    responses=responses("invalid_credentials", "too_many_attempts"),
)
def local_login(
    body: LocalLogin,
    request: Request,
    response: Response,
    db: DbSession,
    settings: SettingsDep,
    address: ClientAddress,
    limits: RateLimitsDep,
) -> MeOut:
    """Log in with a local account (made with `ztix users create`). Attempts are limited
    per username and per client address, each counted before its password is checked;
    past the limit the answer is 429 with ``Retry-After``. A wrong password, an unknown
    user and a disabled account all answer the same 401."""
    try:
        limits.reserve_login(body.username, address)
    except AppError as exc:
        raise _login_failed(db, exc, method="local", address=address, who=body.username) from None
    user = get_user_by_username(db, body.username)
    stored_hash = user.credential.password_hash if user and user.credential else None
    disabled = user is not None and not user.is_active
    db.rollback()  # no connection held across the slow hash check
    # The hash is checked first, whatever the account: every refusal costs the same.
    if not verify_password(stored_hash, body.password) or user is None or disabled:
        # Only the audit log (admins) tells a disabled account from a wrong password.
        extra = {"disabled": True} if disabled else {}
        raise _login_failed(
            db,
            AppError("invalid_credentials"),
            method="local",
            address=address,
            who=body.username,
            **extra,
        )
    limits.login_succeeded(body.username, address)
    return _logged_in(db, request, response, settings, user, method="local", address=address)


@router.post(
    "/auth/logout",
    status_code=204,
    dependencies=[Csrf],
    responses=responses("not_authenticated", "session_expired", "csrf_failed"),
)
def logout(
    session: CurrentSession, db: DbSession, settings: SettingsDep, address: ClientAddress
) -> Response:
    """End this session on the server; the cookie is useless afterwards."""
    revoke_session(session)
    audit.record(
        db,
        Actor.for_user(session.user, address),
        "logout",
        target_type="user",
        target_id=session.user_id,
    )
    db.commit()
    response = Response(status_code=204)
    response.delete_cookie(settings.auth.cookie_name, path="/")
    return response


@router.get(
    "/me",
    response_model=MeOut,
    responses=responses("not_authenticated", "session_expired", "account_disabled"),
)
def me(session: CurrentSession) -> MeOut:
    """The logged-in user, their role and ASNs, and the CSRF token to send on writes."""
    return MeOut.of(session.user, session.csrf_token, session.method)


# --- PeeringDB -------------------------------------------------------------------------


def _peeringdb(request: Request, settings: Settings) -> PeeringDBClient:
    if not settings.peeringdb.enabled or not settings.peeringdb.client_id:
        raise AppError("peeringdb_disabled")
    client: PeeringDBClient = request.app.state.peeringdb
    return client


@router.post(
    "/auth/peeringdb/start",
    response_model=AuthorizeUrl,
    responses=responses("peeringdb_disabled", "provider_unavailable"),
)
def peeringdb_start(
    request: Request, response: Response, db: DbSession, settings: SettingsDep
) -> AuthorizeUrl:
    """Begin a PeeringDB login: send the browser to ``authorize_url``. The state is single
    use, expires, and is bound to this browser by a cookie."""
    start = _peeringdb(request, settings).start()
    binding = new_token()
    db.add(
        OidcLoginState(
            state_hash=token_hash(start.state),
            browser_binding_hash=token_hash(binding),
            nonce=start.nonce,
            code_verifier=start.code_verifier,
            created_at=utcnow(),
        )
    )
    # Old attempts are of no use to anyone; keep the table small.
    cutoff = utcnow() - timedelta(days=1)
    db.query(OidcLoginState).filter(OidcLoginState.created_at < cutoff).delete()
    db.commit()
    response.set_cookie(
        BINDING_COOKIE,
        binding,
        max_age=settings.peeringdb.state_ttl_seconds,
        path=BINDING_PATH,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
    )
    return AuthorizeUrl(authorize_url=start.authorize_url)


def _claim_state(db: Session, request: Request, settings: Settings, state: str) -> OidcLoginState:
    row = db.get(OidcLoginState, token_hash(state))
    binding = request.cookies.get(BINDING_COOKIE, "")
    if row is None:
        raise AppError("state_invalid", "unknown login state; start the login again")
    if row.used_at is not None:
        raise AppError("state_replayed")
    if not hmac.compare_digest(row.browser_binding_hash, token_hash(binding)):
        raise AppError("state_invalid", "this login was started in another browser")
    if utcnow() - row.created_at > timedelta(seconds=settings.peeringdb.state_ttl_seconds):
        raise AppError("state_expired")
    row.used_at = utcnow()
    db.commit()  # single use, whatever happens next
    return row


def _apply_identity(
    db: Session, settings: Settings, identity: PeeringDBIdentity, actor: Actor
) -> User:
    """Grant exactly what PeeringDB says now and keep the tokens, or raise why not.

    A known user whom PeeringDB no longer allows (unverified, no eligible network) loses
    their PeeringDB grants and sessions before the refusal; that is committed here, since
    the refusal rolls the rest back.
    """
    granted, is_admin = grants.entitlement(identity, settings)
    if not granted and not is_admin:
        known = grants.find_peeringdb_user(db, identity.id)
        if known is not None:
            grants.apply_grants(db, known, [], admin=False, actor=actor, source="login")
            db.commit()
        check_verified(identity)
        raise AppError(
            "no_eligible_networks",
            f"none of your PeeringDB networks grants permission bits "
            f"{settings.peeringdb.required_perms}; ask your organisation's admin",
        )
    user = grants.upsert_peeringdb_user(
        db, peeringdb_id=identity.id, name=identity.name, email=identity.email
    )
    if not user.is_active:
        raise AppError("account_disabled")
    grants.apply_grants(db, user, granted, admin=is_admin, actor=actor, source="login")
    grants.store_tokens(db, settings, user.id, identity.tokens, checked=True)
    return user


@router.post(
    "/auth/peeringdb/callback",
    response_model=MeOut,
    responses=responses(
        "peeringdb_disabled",
        "provider_error",
        "state_invalid",
        "state_replayed",
        "state_expired",
        "provider_unavailable",
        "token_exchange_failed",
        "id_token_invalid",
        "userinfo_failed",
        "user_not_verified",
        "no_eligible_networks",
        "account_disabled",
    ),
)
def peeringdb_callback(
    body: OidcCallback,
    request: Request,
    response: Response,
    db: DbSession,
    settings: SettingsDep,
    address: ClientAddress,
) -> MeOut:
    """Finish a PeeringDB login with the ``code`` and ``state`` PeeringDB sent back.

    Grants the ASNs of the networks whose ``perms`` hold every bit of
    ``peeringdb.required_perms``; refuses unverified users."""
    client = _peeringdb(request, settings)
    who = "anonymous"
    try:
        row = _claim_state(db, request, settings, body.state)
        if body.error or not body.code:
            raise AppError(
                "provider_error",
                f"PeeringDB answered {body.error or 'no code'}"
                + (f": {body.error_description}" if body.error_description else ""),
                provider_error=(body.error or "")[:64],
            )
        identity = client.complete(body.code, nonce=row.nonce, code_verifier=row.code_verifier)
        who = f"peeringdb:{identity.id}"
        actor = Actor(name=who[:150], client_address=address)
        user = _apply_identity(db, settings, identity, actor)
    except AppError as exc:
        raise _login_failed(db, exc, method="peeringdb", address=address, who=who) from None
    response.delete_cookie(BINDING_COOKIE, path=BINDING_PATH)
    return _logged_in(
        db,
        request,
        response,
        settings,
        user,
        method="peeringdb",
        address=address,
        asns=sorted(a.asn for a in user.asns),
    )
