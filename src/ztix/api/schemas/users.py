"""The admin's view of accounts (Users page)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ztix.api.schemas.common import AsciiDigits
from ztix.db.models import User, UserSession


class GrantOut(BaseModel):
    asn: int
    source: str = Field(description="local (given by an admin or the CLI) or peeringdb")
    network_name: str
    granted_at: datetime


class SessionOut(BaseModel):
    id: str = Field(description="The first 12 hex digits of the session's token digest")
    method: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client_address: str | None

    @classmethod
    def of(cls, s: UserSession) -> SessionOut:
        return cls(
            id=s.token_hash[:12],
            method=s.method,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            expires_at=s.expires_at,
            client_address=s.client_address,
        )


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    email: str | None
    role: Literal["admin", "operator"]
    source: Literal["local", "peeringdb"] = Field(description="How the account logs in")
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
    live_sessions: int
    grants: list[GrantOut]

    @classmethod
    def of(cls, u: User, live_sessions: int) -> UserOut:
        return cls(
            id=u.id,
            username=u.username,
            display_name=u.display_name,
            email=u.email,
            role="admin" if u.role == "admin" else "operator",
            source="peeringdb" if u.peeringdb_id is not None else "local",
            is_active=u.is_active,
            created_at=u.created_at,
            last_login_at=u.last_login_at,
            live_sessions=live_sessions,
            grants=[
                GrantOut(
                    asn=g.asn,
                    source=g.source,
                    network_name=g.network_name,
                    granted_at=g.granted_at,
                )
                for g in u.asns
            ],
        )


class UserDetail(UserOut):
    sessions: list[SessionOut]


class RoleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["admin", "operator"]


class GrantBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asn: Annotated[int, Field(ge=1, le=4_294_967_295), AsciiDigits]


class RevokedOut(BaseModel):
    revoked: int
