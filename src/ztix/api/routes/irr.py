"""IRR (AS-SET) data: a member's own, and the admins' view with override and refresh."""

from __future__ import annotations

import logging
import threading
import uuid

from fastapi import APIRouter, BackgroundTasks, Request

from ztix.api.deps import (
    AdminUser,
    Csrf,
    CurrentActor,
    CurrentCaller,
    DatabaseRoute,
    DbSession,
    SettingsDep,
)
from ztix.api.problems import responses
from ztix.api.schemas.irr import IrrOverrideBody, IrrRefreshBody, IrrRefreshOut, IrrStatusOut
from ztix.config import Settings
from ztix.db.session import Database
from ztix.domain.identifiers import ASN_MAX, ASN_MIN
from ztix.errors import AppError
from ztix.workflow import audit, irr
from ztix.workflow import requests as service

log = logging.getLogger(__name__)

router = APIRouter(route_class=DatabaseRoute, prefix="/api/v1", tags=["irr"], dependencies=[Csrf])

AUTH = ("not_authenticated", "session_expired", "account_disabled")
# One refresh at a time per API process: a second click while one runs is refused.
_refreshing = threading.Lock()


@router.get(
    "/requests/{request_id}/irr",
    response_model=IrrStatusOut,
    responses=responses(*AUTH, "request_not_found"),
)
def member_irr(
    request_id: uuid.UUID, db: DbSession, user: CurrentCaller, settings: SettingsDep
) -> IrrStatusOut:
    """The IRR data the route servers filter this member's routes with: the AS-SET in use
    and where it came from, prefix counts, the data's age and the last attempt's error."""
    request = service.visible_request(db, user, request_id)
    return IrrStatusOut.of(irr.statuses(db, settings, [request.asn])[0])


@router.get(
    "/admin/irr",
    response_model=list[IrrStatusOut],
    responses=responses(*AUTH, "admin_required"),
)
def admin_list_irr(db: DbSession, _admin: AdminUser, settings: SettingsDep) -> list[IrrStatusOut]:
    """Every route-server member's IRR data (and any ASN with an override)."""
    return [IrrStatusOut.of(s) for s in irr.statuses(db, settings, irr.admin_asns(db))]


@router.put(
    "/admin/irr/{asn}/override",
    response_model=IrrStatusOut,
    responses=responses(
        *AUTH, "admin_required", "csrf_failed", "irr_as_set_invalid", "invalid_asn"
    ),
)
def set_irr_override(
    asn: int,
    body: IrrOverrideBody,
    db: DbSession,
    _admin: AdminUser,
    actor: CurrentActor,
    settings: SettingsDep,
) -> IrrStatusOut:
    """Expand this AS-SET for the member instead of PeeringDB's irr_as_set (null or ""
    clears). Takes effect at the next refresh; refresh the member to apply it now."""
    if not ASN_MIN <= asn <= ASN_MAX:
        raise AppError("invalid_asn", f"AS{asn} is out of range")
    irr.set_override(db, asn, body.as_set, actor)
    db.commit()
    return IrrStatusOut.of(irr.statuses(db, settings, [asn])[0])


def _refresh(database: Database, settings: Settings, asns: list[int] | None) -> None:
    try:
        # One member on demand: ask the IRR even if its serials say nothing changed.
        irr.refresh(database, settings, asns=asns, force=asns is not None)
    except Exception:
        log.exception("IRR refresh from the admin API failed")
    finally:
        _refreshing.release()


@router.post(
    "/admin/irr/refresh",
    response_model=IrrRefreshOut,
    status_code=202,
    responses=responses(
        *AUTH, "admin_required", "csrf_failed", "irr_disabled", "irr_refresh_running"
    ),
)
def refresh_irr(
    body: IrrRefreshBody,
    request: Request,
    background: BackgroundTasks,
    db: DbSession,
    _admin: AdminUser,
    actor: CurrentActor,
    settings: SettingsDep,
) -> IrrRefreshOut:
    """Start a refresh of one member's (or every member's) IRR data; the answer comes at
    once, the results show on the IRR page. Route servers are resynced when data changed."""
    if not settings.irr.enabled:
        raise AppError("irr_disabled")
    if not _refreshing.acquire(blocking=False):
        raise AppError("irr_refresh_running")
    asns = [body.asn] if body.asn is not None else None
    try:
        audit.record(
            db,
            actor,
            "irr.refresh_requested",
            target_type="asn" if body.asn is not None else None,
            target_id=body.asn,
            details={"asns": asns},
        )
        db.commit()
    except BaseException:
        _refreshing.release()
        raise
    background.add_task(_refresh, request.app.state.database, settings, asns)
    return IrrRefreshOut(started=True, asns=asns)
