"""The IX admin's queue, decisions and audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select

from ztix.api.deps import AdminUser, Csrf, CurrentActor, DatabaseRoute, DbSession, SettingsDep
from ztix.api.problems import responses
from ztix.api.schemas.admin import (
    AdminJoinRequestDetail,
    AdminJoinRequestOut,
    AdminRequestPage,
    ApproveBody,
    AuditEventOut,
)
from ztix.api.schemas.common import MAX_AGE_MINUTES, NO_NUL, AsciiDigits, Limit, Offset, Page
from ztix.api.schemas.requests import RejectBody
from ztix.db.models import AuditEvent, JoinRequest
from ztix.domain.identifiers import InvalidIdentifier, normalize_network_id
from ztix.domain.policy import Reason
from ztix.domain.requests import RequestStatus
from ztix.errors import AppError
from ztix.workflow import audit_trail as trail
from ztix.workflow import grants, listing
from ztix.workflow import requests as service
from ztix.workflow.networks import get_network

router = APIRouter(
    route_class=DatabaseRoute, prefix="/api/v1/admin", tags=["admin"], dependencies=[Csrf]
)

AUTH = ("not_authenticated", "session_expired", "account_disabled", "admin_required")
DECISION = (*AUTH, "csrf_failed", "request_not_found", "invalid_transition")
APPROVAL = (*DECISION, "validation_failed")


@router.get(
    "/requests",
    response_model=AdminRequestPage,
    responses=responses(*AUTH, "invalid_network_id"),
)
def admin_list_requests(
    db: DbSession,
    _admin: AdminUser,
    status: Annotated[list[RequestStatus] | None, Query()] = None,
    asn: Annotated[int | None, Query(ge=0, le=4_294_967_295), AsciiDigits] = None,
    zt_network_id: Annotated[str | None, Query()] = None,
    min_age_minutes: Annotated[int | None, Query(ge=0, le=MAX_AGE_MINUTES), AsciiDigits] = None,
    needs_human_reason: Annotated[
        Reason | None,
        Query(description="Requests whose policy verdict gave this reason for a human"),
    ] = None,
    grant_lost: Annotated[
        bool | None,
        Query(description="true: only requests whose requester lost the ASN's grant"),
    ] = None,
    sort: Annotated[listing.SortKey, Query()] = "-created_at",
    limit: Limit = 50,
    offset: Offset = 0,
) -> AdminRequestPage:
    """The request queue. ``status`` may repeat; ``min_age_minutes`` keeps older requests;
    ``needs_human_reason`` keeps requests the policy left to a human for that reason (with
    ``status=pending``: the ones still waiting); ``grant_lost=true`` keeps the members whose
    requester lost the ASN at PeeringDB. ``counts`` are per status over the whole IX,
    whatever the filter."""
    network_pk: int | None = None
    if zt_network_id is not None:
        try:
            nwid = normalize_network_id(zt_network_id)
        except InvalidIdentifier as exc:
            raise AppError(exc.code, exc.detail) from exc
        network = get_network(db, nwid)
        if network is None:
            return AdminRequestPage(
                items=[], total=0, limit=limit, offset=offset, counts=listing.status_counts(db)
            )
        network_pk = network.id
    f = listing.RequestFilter(
        statuses=tuple(status or ()),
        asn=asn,
        network_id=network_pk,
        min_age_minutes=min_age_minutes,
        needs_human_reason=needs_human_reason,
        grant_lost=grant_lost,
    )
    counts = listing.status_counts(db)
    items = listing.list_requests(db, f, sort=sort, limit=limit, offset=offset)
    return AdminRequestPage(
        items=[AdminJoinRequestOut.of(r) for r in items],
        total=listing.count_requests(db, f, counts),
        limit=limit,
        offset=offset,
        counts=counts,
    )


def _detail(db: DbSession, request: JoinRequest) -> AdminJoinRequestDetail:
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.request_id == request.id).order_by(AuditEvent.id)
    )
    return AdminJoinRequestDetail(
        **AdminJoinRequestOut.of(request).model_dump(),
        audit=[AuditEventOut.of(e) for e in events],
    )


@router.get(
    "/requests/{request_id}",
    response_model=AdminJoinRequestDetail,
    responses=responses(*AUTH, "request_not_found"),
)
def admin_get_request(
    request_id: uuid.UUID, db: DbSession, _admin: AdminUser
) -> AdminJoinRequestDetail:
    """A request with its policy verdict (``policy_verdict``) and its whole audit timeline."""
    request = db.get(JoinRequest, request_id)
    if request is None:
        raise AppError("request_not_found")
    return _detail(db, request)


@router.post(
    "/requests/{request_id}/approve",
    response_model=AdminJoinRequestDetail,
    responses=responses(*APPROVAL),
)
def approve_request(
    request_id: uuid.UUID,
    db: DbSession,
    _admin: AdminUser,
    actor: CurrentActor,
    body: ApproveBody | None = None,
) -> AdminJoinRequestDetail:
    """Approve a ``pending`` request; provisioning starts once this commits. The optional
    body sets the member's route-server import limits (``max_prefix_ipv4``/``_ipv6``, the
    same overrides as ``PUT …/max-prefix``) and a note for the other admins."""
    request = service.approve(db, request_id, actor, body.approval() if body else None)
    db.commit()
    return _detail(db, request)


@router.post(
    "/requests/{request_id}/reject",
    response_model=AdminJoinRequestDetail,
    responses=responses(*DECISION, "reason_required"),
)
def reject_request(
    request_id: uuid.UUID, body: RejectBody, db: DbSession, _admin: AdminUser, actor: CurrentActor
) -> AdminJoinRequestDetail:
    """Reject a ``pending`` request; the reason is shown to the member."""
    request = service.reject(db, request_id, actor, body.reason)
    db.commit()
    return _detail(db, request)


@router.post(
    "/requests/{request_id}/retry",
    response_model=AdminJoinRequestDetail,
    responses=responses(*DECISION, "node_in_use", "node_reserved"),
)
def retry_request(
    request_id: uuid.UUID,
    db: DbSession,
    _admin: AdminUser,
    actor: CurrentActor,
    settings: SettingsDep,
) -> AdminJoinRequestDetail:
    """Send a ``failed`` request back to ``approved`` with a fresh attempt count. A failed
    request has let go of its node: ``node_in_use`` (naming the holder) while another
    request holds it."""
    request = service.retry(db, settings, request_id, actor)
    db.commit()
    return _detail(db, request)


@router.post(
    "/requests/{request_id}/keep",
    response_model=AdminJoinRequestDetail,
    responses=responses(*AUTH, "csrf_failed", "request_not_found"),
)
def keep_request(
    request_id: uuid.UUID, db: DbSession, _admin: AdminUser, actor: CurrentActor
) -> AdminJoinRequestDetail:
    """Keep a member flagged ``grant_lost_at`` (its requester lost the ASN at PeeringDB):
    the flag is cleared and the decision audited. Removing it instead is ``deprovision``."""
    request = grants.keep_member(db, request_id, actor)
    db.commit()
    return _detail(db, request)


@router.post(
    "/requests/{request_id}/deprovision",
    response_model=AdminJoinRequestDetail,
    responses=responses(*DECISION),
)
def deprovision_request(
    request_id: uuid.UUID, db: DbSession, _admin: AdminUser, actor: CurrentActor
) -> AdminJoinRequestDetail:
    """Remove an ``active`` member from the IX (deauthorize, release addresses)."""
    request = service.deprovision(db, request_id, actor)
    db.commit()
    return _detail(db, request)


def _audit_filter(
    request_id: Annotated[uuid.UUID | None, Query()] = None,
    actor: Annotated[str | None, Query(max_length=150, pattern=NO_NUL)] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    asn: Annotated[int | None, Query(ge=0, le=4_294_967_295), AsciiDigits] = None,
    since: Annotated[datetime | None, Query(description="From this time (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="Before this time")] = None,
) -> trail.AuditFilter:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise AppError("validation_failed", f"{name} needs a time zone, e.g. 2026-12-06T10:00Z")
    return trail.AuditFilter(
        actor=actor, action=action, request_id=request_id, asn=asn, since=since, until=until
    )


AuditQuery = Annotated[trail.AuditFilter, Depends(_audit_filter)]


@router.get(
    "/audit", response_model=Page[AuditEventOut], responses=responses(*AUTH, "validation_failed")
)
def audit_events(
    db: DbSession,
    _admin: AdminUser,
    f: AuditQuery,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AuditEventOut]:
    """The audit trail, newest first, filtered by actor, action, request, ASN (its requests'
    events and events about the ASN) and time range."""
    events = trail.page(db, f, limit=limit, offset=offset)
    return Page(
        items=[AuditEventOut.of(e) for e in events],
        total=trail.count(db, f),
        limit=limit,
        offset=offset,
    )


AUDIT_CSV_MAX_ROWS = 100_000


@router.get(
    "/audit.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **responses(*AUTH, "validation_failed"),
    },
)
def audit_events_csv(db: DbSession, _admin: AdminUser, f: AuditQuery) -> Response:
    """The filtered audit trail (same filters as ``/audit``) as CSV, newest first, at most
    100,000 rows; ``details`` is a JSON cell."""
    body = "".join(trail.csv_rows(db, f, max_rows=AUDIT_CSV_MAX_ROWS))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="ztix-audit.csv"'},
    )
