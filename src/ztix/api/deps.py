"""Typed dependencies shared by every router (the FastAPI reference template's style)."""

from __future__ import annotations

import functools
import inspect
import ipaddress
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, joinedload
from starlette.concurrency import run_in_threadpool

from ztix.api import bearer
from ztix.auth import api_tokens
from ztix.auth.caller import Caller, LiveSession, LiveToken
from ztix.auth.ratelimit import RateLimits
from ztix.auth.sessions import Companion, check_csrf, record_seen, resolve_session, seen_due
from ztix.config import Settings
from ztix.db.models import TOKEN_SCOPE, User, UserSession
from ztix.db.session import READ_ONLY, Database
from ztix.errors import AppError
from ztix.workflow.audit import Actor

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# Dependencies that do no I/O are ``async``: they run on the event loop, so a request does
# not queue for a threadpool thread once for each of them (docs/architecture.md).


# The dependencies every request resolves (the address limit, the session look-up, the
# CSRF check, the database session) read the app's state through these plain functions
# rather than through dependencies of their own: each dependency FastAPI resolves costs
# bookkeeping, and a member's read resolved ten (issue 17, P4). Handlers take the
# ``*Dep`` annotations below.


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


async def get_settings(request: Request) -> Settings:
    return _settings(request)


async def get_database(request: Request) -> Database:
    return _database(request)


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A session per HTTP request: one that only reads for GET, HEAD and OPTIONS (on SQLite no
    write lock), a writing one otherwise. Handlers commit explicitly; anything else rolls
    back. Its transactions end in the thread that ran them (:func:`current_principal`,
    :class:`DatabaseRoute`): no connection is held while a request waits for a thread.

    Making and closing a session without a transaction does no I/O, so this runs on the
    event loop (two thread-pool hops fewer per request); a session somehow still in a
    transaction at the end is closed (rolled back) on a thread."""
    database = _database(request)
    writes = request.method in UNSAFE_METHODS
    factory = database.sessionmaker if writes else database.read_sessionmaker
    session = factory()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbSession = Annotated[Session, Depends(get_db)]


def end_transaction(session: Session) -> None:
    """End ``session``'s transaction in this thread, giving its connection back to the pool:
    a read one commits (what it loaded stays loaded), a writing one rolls back what the
    handler did not commit."""
    if not session.in_transaction():
        return
    if session.info.get(READ_ONLY):
        session.commit()
    else:
        session.rollback()


def _ending_transactions(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)  # FastAPI reads the signature through __wrapped__
    def call(*args: Any, **kwargs: Any) -> Any:
        sessions = [v for v in kwargs.values() if isinstance(v, Session)]
        try:
            return endpoint(*args, **kwargs)
        finally:
            for session in sessions:
                end_transaction(session)

    return call


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


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


def is_loopback_client(request: Request, settings: Settings) -> bool:
    """A client on this host that talks to the API directly. A request a proxy forwarded
    is not one, even from a loopback peer: a proxy on this host forwards everyone."""
    if "x-forwarded-for" in request.headers or "forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(client_address(request, settings)).is_loopback
    except ValueError:
        return False


def _in_any(address: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


async def _client_address(request: Request) -> str:
    return client_address(request, _settings(request))


ClientAddress = Annotated[str, Depends(_client_address)]


async def get_rate_limits(request: Request) -> RateLimits:
    return _limits(request)


RateLimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]


async def limit_by_address(request: Request) -> None:
    """Every state-changing request counts against its client address (an app-wide
    dependency, so anonymous ones such as logins count too); so does every read of a route
    that needs no session. A read that needs one counts in :func:`current_principal`. The
    count (Redis, in production) runs on a thread; a read that needs a session does not
    take that hop at all."""
    limits = _limits(request)
    address = client_address(request, _settings(request))
    if request.method in UNSAFE_METHODS:
        await run_in_threadpool(limits.write_by_address, address)
    elif not getattr(request.scope.get("route"), "resolves_session", False):
        await run_in_threadpool(limits.read_by_address, address)


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a user through their session cookie, or through an API token
    (``api/bearer.py``); values read by one statement (``auth/caller.py``), no ORM rows."""

    caller: Caller
    session: LiveSession | None = None
    token: LiveToken | None = None
    # ORM rows, loaded only for routes that ask for them (``current_user``,
    # ``current_session``), in the look-up's thread and transaction.
    user: User | None = None
    session_row: UserSession | None = None


# Declares the scheme in the OpenAPI document; sessions use the cookie (``auth.cookie_name``).
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    bearerFormat="ztix_…",
    description="An API token (POST /api/v1/tokens from a logged-in session). Without "
    "one, the session cookie of a login is used, with the CSRF token on writes.",
)


def current_principal(
    request: Request,
    db: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The signed-in session, or the API token of an ``Authorization: Bearer`` header (a
    request with one is never taken for its cookie's session). The ORM rows the route asks
    for (``DatabaseRoute.loads``) are read right after the look-up, in the request's session."""
    database, settings, limits = _database(request), _settings(request), _limits(request)
    address = client_address(request, settings)
    route = request.scope.get("route")
    loads: frozenset[str] = getattr(route, "loads", frozenset())
    rows: dict[str, Any] = {}

    def load(caller: Caller, session: LiveSession | None) -> None:
        if "user" in loads:
            rows["user"] = _user_row(db, caller)
        if "session" in loads and session is not None:
            rows["session_row"] = _session_row(db, session)

    if credentials is not None:
        presented = credentials.credentials
        token = bearer.authenticate(
            request,
            db,
            database,
            settings,
            limits,
            address,
            presented,
            then=lambda t: load(t.caller, None),
        )
        return Principal(caller=token.caller, token=token, **rows)
    session = _cookie_session(request, db, database, settings, limits, address, load)
    return Principal(caller=session.caller, session=session, **rows)


def _user_row(db: Session, caller: Caller) -> User:
    """The caller's ``User`` row with its ASNs, narrowed by an API token as the caller is
    (``db/models.TOKEN_SCOPE``)."""
    user = db.get(User, caller.id, options=[joinedload(User.asns)])
    if user is None:  # deleted since the look-up's statement
        raise AppError("not_authenticated")
    if caller.scope is not None:
        setattr(user, TOKEN_SCOPE, caller.scope)
    return user


def _session_row(db: Session, session: LiveSession) -> UserSession:
    """The session's row, its user and the user's ASNs."""
    row = db.get(
        UserSession,
        session.token_hash,
        options=[joinedload(UserSession.user).joinedload(User.asns)],
    )
    if row is None:  # deleted since the look-up's statement
        raise AppError("not_authenticated")
    return row


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _cookie_session(
    request: Request,
    db: Session,
    database: Database,
    settings: Settings,
    limits: RateLimits,
    address: str,
    then: Callable[[Caller, LiveSession], None],
) -> LiveSession:
    """The signed-in session (one statement, ``resolve_session``, in no transaction). The
    transaction of the rows ``then`` loads ends here, in this thread. A member's read counts
    against the session's read limit, a read without a valid session against its
    address's; admins work through queues and are exempt."""
    reads = request.method not in UNSAFE_METHODS
    companion = getattr(request.scope.get("route"), "companion", None)
    try:
        cookie = request.cookies.get(settings.auth.cookie_name)
        session = resolve_session(
            database,
            cookie,
            settings.auth,
            grants_max_age_hours=settings.peeringdb.recheck_max_age_hours,
            companion=None if companion is None else companion(request),
        )
        then(session.caller, session)
    except AppError:
        db.rollback()
        if reads:
            limits.read_by_address(address)
        raise
    if db.in_transaction():  # the rows ``then`` loaded stay loaded (not expired)
        db.commit()
    if reads and not session.caller.is_admin:
        limits.read_by_session(session.token_hash)
    if seen_due(session):
        with database.session() as writer:  # a short write of its own, at most once a minute
            record_seen(writer, session.token_hash)
    return session


async def current_session(principal: CurrentPrincipal) -> UserSession:
    """The signed-in session's row, with its user and the user's ASNs (``/me``, logout,
    token management, notification settings): an API token cannot stand in for it."""
    if principal.session is None:
        raise AppError("token_not_allowed")
    assert principal.session_row is not None  # DatabaseRoute.loads asked for it
    return principal.session_row


CurrentSession = Annotated[UserSession, Depends(current_session)]


LookupCompanion = Callable[[Request], Companion | None]
_COMPANION = "ztix_lookup_companion"  # the endpoint's attribute with_lookup sets


def with_lookup(companion: LookupCompanion) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a handler whose every request reads one more value that depends only on the
    caller's ASNs and the request: ``companion(request)`` says which (or ``None``), and a
    cookie session's look-up reads it in its own statement (``auth.sessions.Companion``),
    handed to the handler as ``principal.session.companion``. The handler checks it was read
    for what it validated, and reads it itself otherwise (a token's requests, say)."""

    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        setattr(endpoint, _COMPANION, companion)
        return endpoint

    return mark


class DatabaseRoute(APIRoute):
    """The route class of every router: its handler's database transaction ends when the
    handler returns, in the handler's thread (``end_transaction``), not at the request's end
    in another; ``resolves_session`` says whether it reads a session (for the limits),
    ``loads`` which ORM rows its dependencies need besides the caller (``"user"``,
    ``"session"``), read by ``current_principal`` on the look-up's connection, and
    ``companion`` what the look-up's statement reads besides (:func:`with_lookup`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.companion: LookupCompanion | None = getattr(endpoint, _COMPANION, None)
        kwargs["dependencies"] = _without_csrf_on_reads(path, endpoint, kwargs)
        super().__init__(path, _ending_transactions(endpoint), **kwargs)
        self.resolves_session = _depends_on(self.dependant, current_principal)
        self.loads = frozenset(
            name
            for name, call in (("user", current_user), ("session", current_session))
            if _depends_on(self.dependant, call)
        )


def _without_csrf_on_reads(
    path: str, endpoint: Callable[..., Any], route: dict[str, Any]
) -> list[Any]:
    """A route's dependencies, less the router's CSRF check on a route that only reads:
    ``csrf_protect`` has nothing to check there, and every dependency FastAPI resolves costs
    each request (issue 17, P4). Kept where it is what authenticates the route (nothing
    else of it asks who the caller is), so dropping it never opens a route."""
    dependencies = list(route.get("dependencies") or ())
    methods = set(route.get("methods") or ())
    if not methods or methods & UNSAFE_METHODS:
        return dependencies
    others = [d for d in dependencies if d.dependency is not csrf_protect]
    if len(others) == len(dependencies):
        return dependencies
    calls = [endpoint, *(d.dependency for d in others if d.dependency is not None)]
    if any(
        c is current_principal or _depends_on(get_dependant(path=path, call=c), current_principal)
        for c in calls
    ):
        return others
    return dependencies


async def current_caller(principal: CurrentPrincipal) -> Caller:
    """Who the request acts for, without an ORM row: what routes that only need the user's
    ID, name, role and (token-narrowed) ASNs take."""
    return principal.caller


CurrentCaller = Annotated[Caller, Depends(current_caller)]


async def current_user(principal: CurrentPrincipal) -> User:
    """The ``User`` row with its ASNs, for routes that need more than :class:`Caller` (grants,
    e-mail, settings); an API token narrows it as it narrows the caller."""
    assert principal.user is not None  # DatabaseRoute.loads asked for it
    return principal.user


CurrentUser = Annotated[User, Depends(current_user)]


async def admin_user(caller: CurrentCaller) -> Caller:
    if not caller.is_admin:
        raise AppError("admin_required")
    return caller


AdminUser = Annotated[Caller, Depends(admin_user)]


async def csrf_protect(
    request: Request,
    principal: CurrentPrincipal,
    x_csrf_token: Annotated[str | None, Header(description="From GET /api/v1/me")] = None,
) -> None:
    """State-changing requests must echo the session's CSRF token in ``X-CSRF-Token``, and
    a member's count against their write limit. Admins work through queues (hundreds of
    approvals in a sitting): only their address's limit applies to them. A call with an API
    token needs no CSRF token (no browser sends it by itself): its scope must allow writes,
    and it counts against the token's write limit. A read has nothing to check: a route that
    only reads does not resolve this at all (``_without_csrf_on_reads``); a route that also
    writes returns here on its reads."""
    if request.method not in UNSAFE_METHODS:
        return
    limits = _limits(request)
    if principal.token is not None:
        await run_in_threadpool(bearer.check_write, principal.token, limits)
        return
    session = principal.session
    assert session is not None
    check_csrf(session, x_csrf_token)
    if not session.caller.is_admin:
        await run_in_threadpool(limits.write_by_user, session.user_id)


Csrf = Depends(csrf_protect)


async def actor(principal: CurrentPrincipal, address: ClientAddress) -> Actor:
    token = principal.token
    label = None if token is None else api_tokens.label(token)
    return Actor.for_user(principal.caller, address, token=label)


CurrentActor = Annotated[Actor, Depends(actor)]
