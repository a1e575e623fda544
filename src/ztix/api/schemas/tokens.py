"""API tokens: what a user creates, lists and is shown once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ztix.api.schemas.common import NO_NUL, AsciiDigits
from ztix.db.models import ApiToken

TokenAsn = Annotated[int, Field(ge=1, le=4_294_967_295), AsciiDigits]


class ApiTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, pattern=NO_NUL, description="What it is for")
    kind: Literal["member", "admin"] = Field(
        "member",
        description="`member`: acts for the ASNs named; `admin`: acts as you, an IX admin",
    )
    asns: list[TokenAsn] = Field(
        default_factory=list,
        max_length=100,
        description="A member token's ASNs (you must hold each); none for an admin token",
    )
    write: bool = Field(False, description="Also allow state-changing calls (join, cancel, …)")
    expires_in_days: Annotated[int, Field(ge=1, le=3650), AsciiDigits] = Field(
        90, description="At most `auth.api_token_max_days`"
    )


class ApiTokenOut(BaseModel):
    id: int
    name: str
    kind: Literal["member", "admin"]
    prefix: str = Field(description="The token's first characters, to recognise it")
    scopes: list[Literal["read", "write"]]
    asns: list[int]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiToken) -> ApiTokenOut:
        return cls(
            id=row.id,
            name=row.name,
            kind="admin" if row.kind == "admin" else "member",
            prefix=row.prefix,
            scopes=["read", "write"] if row.can_write else ["read"],
            asns=sorted(row.asns),
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


class ApiTokenCreated(BaseModel):
    token: ApiTokenOut
    secret: str = Field(description="The token itself: shown this once, never again")


class ApiTokenAdminOut(ApiTokenOut):
    owner: str = Field(description="The username of the token's owner")

    @classmethod
    def of_any(cls, row: ApiToken) -> ApiTokenAdminOut:
        return cls(**ApiTokenOut.of(row).model_dump(), owner=row.user.username)
