"""The member directory: ``GET /api/v1/directory``, for logged-in members and admins (and
API tokens), or for anyone with ``directory.public``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from ztix.api.deps import (
    DatabaseRoute,
    DbSession,
    SettingsDep,
    bearer_scheme,
    current_principal,
)
from ztix.api.problems import responses
from ztix.api.schemas.directory import DirectoryMemberOut, DirectoryOut
from ztix.workflow import directory

router = APIRouter(route_class=DatabaseRoute, prefix="/api/v1", tags=["directory"])


def directory_reader(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    """Anyone when the directory is public; otherwise a session or an API token."""
    if not settings.directory.public:
        current_principal(request, db, credentials)


@router.get(
    "/directory",
    response_model=DirectoryOut,
    responses=responses(
        "not_authenticated", "session_expired", "account_disabled", "token_invalid"
    ),
    dependencies=[Depends(directory_reader)],
)
def member_directory(db: DbSession, settings: SettingsDep) -> DirectoryOut:
    """The IX's members: PeeringDB name and ASN, peering addresses, route-server session
    state and joined date; the same members, addresses and dates as ``/participants.json``."""
    gathered = directory.gather(db, settings)
    db.rollback()  # no transaction (SQLite: no lock) held while the route servers answer
    members = directory.build(gathered, directory.sessions(settings))
    return DirectoryOut(
        ix_name=settings.ixf.name,
        public=settings.directory.public,
        members=[DirectoryMemberOut.of(m) for m in members],
    )
