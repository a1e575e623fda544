"""The IX-F Member Export: ``GET /participants.json`` (IX-F JSON schema 1.0).

Public and unauthenticated, as IX-F expects: route collectors, PeeringDB and IXPDB fetch
it. It holds no personal data (``workflow/ixf.py`` reads none).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ztix.api.deps import DatabaseRoute, DbSession, SettingsDep
from ztix.api.problems import responses
from ztix.errors import AppError
from ztix.workflow import ixf

router = APIRouter(route_class=DatabaseRoute, tags=["ix-f"])

_DOCUMENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The IX-F member list, JSON schema version 1.0",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.get(
    "/participants.json",
    summary="IX-F member list (JSON schema 1.0) of the IX and its active members",
    response_class=JSONResponse,
    responses={**_DOCUMENT, **responses("not_found")},
)
def participants(db: DbSession, settings: SettingsDep) -> JSONResponse:
    if not settings.ixf.enabled:
        raise AppError("not_found", "The IX-F member export is disabled")
    document = ixf.member_export(db, settings)
    return JSONResponse(
        document,
        headers={
            "Cache-Control": f"public, max-age={settings.ixf.cache_seconds}",
            # IX-F tooling fetches the export from anywhere, browsers included.
            "Access-Control-Allow-Origin": "*",
        },
    )
