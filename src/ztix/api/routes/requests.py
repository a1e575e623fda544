"""A member's own join requests and the onboarding context."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ztix.api.deps import (
    Csrf,
    CurrentActor,
    CurrentCaller,
    CurrentPrincipal,
    CurrentUser,
    DatabaseRoute,
    DbSession,
    SettingsDep,
    end_transaction,
    with_lookup,
)
from ztix.api.page_cache import PageCache
from ztix.api.problems import responses
from ztix.api.schemas.auth import AsnOut
from ztix.api.schemas.common import MAX_LIMIT, MAX_OFFSET, Limit, Offset, Page
from ztix.api.schemas.requests import (
    JoinRequestCreate,
    JoinRequestOut,
    NetworkOut,
    OnboardingContext,
    member_item_json,
)
from ztix.api.serialize import json_page, json_response
from ztix.auth.sessions import Companion
from ztix.db.session import Database
from ztix.domain.identifiers import parse_digits
from ztix.domain.requests import RequestStatus
from ztix.workflow import listing, policy
from ztix.workflow import requests as service

router = APIRouter(
    route_class=DatabaseRoute, prefix="/api/v1", tags=["member"], dependencies=[Csrf]
)

AUTH = ("not_authenticated", "session_expired", "account_disabled")
LIMIT = 50  # a page's length when the query names none


@router.get("/onboarding/context", response_model=OnboardingContext, responses=responses(*AUTH))
def onboarding_context(
    db: DbSession, user: CurrentUser, settings: SettingsDep
) -> OnboardingContext:
    """What the member may ask for: their ASNs, the IX networks open to them, the approval mode."""
    # An ASN held both locally and through PeeringDB is offered once.
    held = service.user_asns(user)  # an API token narrows what its owner holds
    asns = list({a.asn: AsnOut.of(a) for a in reversed(user.asns) if a.asn in held}.values())
    asns.sort(key=lambda a: a.asn)
    return OnboardingContext(
        asns=asns,
        networks=[NetworkOut.of(n) for n in service.networks_for(db, user)],
        approval_mode=settings.workflow.approval_mode.value,
        allow_private_asns=settings.workflow.allow_private_asns,
    )


@router.post(
    "/requests",
    status_code=201,
    response_model=JoinRequestOut,
    responses=responses(
        *AUTH,
        "csrf_failed",
        "invalid_asn",
        "invalid_node_id",
        "invalid_network_id",
        "asn_not_authorized",
        "network_not_authorized",
        "network_not_found",
        "duplicate_open_request",
        "node_in_use",
        "node_reserved",
        "asn_not_eligible",
        "network_not_eligible",
    ),
)
def create_request(
    body: JoinRequestCreate,
    db: DbSession,
    user: CurrentUser,
    actor: CurrentActor,
    settings: SettingsDep,
) -> JoinRequestOut:
    """Ask to join an IX network with one router. A ZeroTier node belongs to one member
    per IX network: a node another ASN's request holds answers ``node_in_use`` (the holder
    is not named), the IX's own nodes ``node_reserved``. The IX's eligibility policy decides at
    once: refused (``asn_not_eligible`` / ``network_not_eligible``, naming the rule),
    ``approved`` under ``policy_auto`` when every check and guardrail passes, or ``pending``
    with the reasons an admin must look (``policy.reasons``)."""
    ids = {"asn": body.asn, "zt_network_id": body.zt_network_id, "node_id": body.node_id}
    new = service.validate_new_request(db, settings, user, **ids)
    fetched = None
    if policy.peeringdb_wanted(db, settings, new.asn):
        db.commit()  # no transaction (on SQLite: no write lock) is held while PeeringDB answers
        fetched = policy.fetch_peeringdb(settings, new.asn)
    try:
        request = service.create_request(
            db, settings, user, actor, **ids, notes=body.notes, peeringdb=fetched
        )
    except service.RequestRefused:
        db.commit()  # the refusal stays in the audit trail
        raise
    db.commit()
    return JoinRequestOut.of(request)


def _page_digest(request: Request) -> Companion | None:
    """The digest :func:`list_requests` reads, asked of the session look-up (one round trip
    to the database for a kept page, not two) when the query reads as the handler will
    validate it; the handler reads it itself when it does not."""
    if not request.app.state.page_cache.max_bytes:
        return None
    query = request.query_params
    limit = parse_digits(query.get("limit", str(LIMIT)))
    offset = parse_digits(query.get("offset", "0"))
    if limit is None or offset is None or not (1 <= limit <= MAX_LIMIT and offset <= MAX_OFFSET):
        return None
    try:
        statuses = tuple(RequestStatus(s) for s in query.getlist("status"))
    except ValueError:
        return None
    database: Database = request.app.state.database
    return listing.member_version_companion(database, statuses, limit=limit, offset=offset)


@router.get("/requests", response_model=Page[JoinRequestOut], responses=responses(*AUTH))
@with_lookup(_page_digest)
async def list_requests(
    request: Request,
    db: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[list[RequestStatus] | None, Query()] = None,
    limit: Limit = LIMIT,
    offset: Offset = 0,
) -> Response:
    """Requests for the ASNs you hold, newest first."""
    user, session = principal.caller, principal.session
    f = listing.RequestFilter(
        statuses=tuple(status or ()), asns_visible=frozenset(service.user_asns(user))
    )
    # A page written earlier is answered again while the digest of its rows' versions, read
    # first, is unchanged (api/page_cache.py; on PostgreSQL). As a rule the session look-up
    # read it (for all the caller's ASNs, which a token narrows): a kept page is then
    # answered here, on the event loop, with no I/O and no hop to a thread.
    cache: PageCache = request.app.state.page_cache
    key = (f, limit, offset)
    known = session.companion if session is not None and f.asns_visible == user.asns else None
    version = listing.known_member_version(f, limit=limit, offset=offset, known=known)
    if version is not None and (kept := cache.get(key, version)) is not None:
        return json_response(kept)
    page = await run_in_threadpool(_member_page, request, db, f, key, version)
    return json_response(page)


def _member_page(
    request: Request,
    db: Session,
    f: listing.RequestFilter,
    key: tuple[listing.RequestFilter, int, int],
    version: str | None,
) -> bytes:
    """On a thread: the page's digest unless the look-up read it, then the kept page if it
    is still the page, or the page read (and kept). Its transaction ends here."""
    cache: PageCache = request.app.state.page_cache
    database: Database = request.app.state.database
    _, limit, offset = key
    try:
        if version is None and cache.max_bytes:
            version = listing.member_version(database, f, limit=limit, offset=offset)
            if version is not None and (kept := cache.get(key, version)) is not None:
                return kept
        items, total = listing.member_page(db, f, member_item_json, limit=limit, offset=offset)
        # Page[JoinRequestOut]'s JSON (its response_model documents it), each item written
        # by the database (member_item_json; tests/api/test_perf_member_list.py compares).
        page = json_page(items, total=total, limit=limit, offset=offset)
        if version is not None:
            cache.put(key, version, page)
        return page
    finally:
        end_transaction(db)


@router.get(
    "/requests/{request_id}",
    response_model=JoinRequestOut,
    responses=responses(*AUTH, "request_not_found"),
)
def get_request(request_id: uuid.UUID, db: DbSession, user: CurrentCaller) -> JoinRequestOut:
    """One of your requests. Someone else's answers 404, as if it did not exist."""
    return JoinRequestOut.of(service.visible_request(db, user, request_id))


@router.post(
    "/requests/{request_id}/cancel",
    response_model=JoinRequestOut,
    responses=responses(*AUTH, "csrf_failed", "request_not_found", "invalid_transition"),
)
def cancel_request(
    request_id: uuid.UUID, db: DbSession, user: CurrentCaller, actor: CurrentActor
) -> JoinRequestOut:
    """Withdraw a request that is still ``pending``."""
    request = service.cancel(db, user, request_id, actor)
    db.commit()
    return JoinRequestOut.of(request)


@router.post(
    "/requests/{request_id}/leave",
    response_model=JoinRequestOut,
    responses=responses(*AUTH, "csrf_failed", "request_not_found", "invalid_transition"),
)
def leave_request(
    request_id: uuid.UUID, db: DbSession, user: CurrentCaller, actor: CurrentActor
) -> JoinRequestOut:
    """Leave the IX with an ``active`` member: it is deauthorized, its addresses released,
    and its BGP sessions removed; the request ends ``removed``."""
    request = service.leave(db, user, request_id, actor)
    db.commit()
    return JoinRequestOut.of(request)
