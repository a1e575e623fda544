"""A user's API tokens. Managed only from a logged-in session: a token cannot mint, list or
revoke tokens (``token_not_allowed``), so a leaked one cannot make itself a successor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from ztix.api.deps import (
    AdminUser,
    ClientAddress,
    Csrf,
    CurrentActor,
    CurrentSession,
    DatabaseRoute,
    DbSession,
    SettingsDep,
)
from ztix.api.problems import responses
from ztix.api.schemas.common import MAX_OFFSET, AsciiDigits
from ztix.api.schemas.tokens import (
    ApiTokenAdminOut,
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenOut,
)
from ztix.workflow import api_tokens as service
from ztix.workflow.audit import Actor

router = APIRouter(
    route_class=DatabaseRoute, prefix="/api/v1", tags=["tokens"], dependencies=[Csrf]
)
TokenId = Annotated[int, Path(ge=1, le=MAX_OFFSET), AsciiDigits]

AUTH = ("not_authenticated", "session_expired", "account_disabled", "token_not_allowed")


@router.get("/tokens", response_model=list[ApiTokenOut], responses=responses(*AUTH))
def list_tokens(db: DbSession, session: CurrentSession) -> list[ApiTokenOut]:
    """Your API tokens, live ones first (secrets are never shown again)."""
    return [ApiTokenOut.of(t) for t in service.owned(db, session.user)]


@router.post(
    "/tokens",
    status_code=201,
    response_model=ApiTokenCreated,
    responses=responses(*AUTH, "csrf_failed", "asn_not_authorized", "admin_required"),
)
def create_token(
    body: ApiTokenCreate,
    db: DbSession,
    session: CurrentSession,
    settings: SettingsDep,
    address: ClientAddress,
) -> ApiTokenCreated:
    """Create a token for automation: send it as ``Authorization: Bearer <secret>``. The
    secret is in this answer only; the IX keeps its hash."""
    secret, row = service.create(
        db,
        settings,
        session.user,
        Actor.for_user(session.user, address),
        name=body.name,
        kind=body.kind,
        asns=body.asns,
        write=body.write,
        expires_in_days=body.expires_in_days,
    )
    db.commit()
    return ApiTokenCreated(token=ApiTokenOut.of(row), secret=secret)


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    responses=responses(*AUTH, "csrf_failed", "token_not_found"),
)
def revoke_token(
    token_id: TokenId,
    db: DbSession,
    session: CurrentSession,
    address: ClientAddress,
) -> Response:
    """Revoke a token at once; calls with it answer ``token_invalid`` from now on."""
    service.revoke(db, session.user, token_id, Actor.for_user(session.user, address))
    db.commit()
    return Response(status_code=204)


@router.get(
    "/admin/tokens",
    response_model=list[ApiTokenAdminOut],
    responses=responses(*AUTH, "admin_required"),
)
def admin_list_tokens(db: DbSession, _admin: AdminUser) -> list[ApiTokenAdminOut]:
    """Every live API token of every user, newest first (never a secret)."""
    return [ApiTokenAdminOut.of_any(t) for t in service.live(db)]


@router.delete(
    "/admin/tokens/{token_id}",
    status_code=204,
    responses=responses(*AUTH, "admin_required", "csrf_failed", "token_not_found"),
)
def admin_revoke_token(
    token_id: TokenId, db: DbSession, _admin: AdminUser, actor: CurrentActor
) -> Response:
    """Revoke anyone's token at once (a leaked one): audited with the owner's id."""
    service.revoke(db, None, token_id, actor)
    db.commit()
    return Response(status_code=204)
