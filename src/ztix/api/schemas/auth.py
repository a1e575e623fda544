"""Logging in, and who the user is."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ztix.api.schemas.common import NO_NUL
from ztix.db.models import User, UserAsn


class LocalLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=150, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=1024)


class AuthorizeUrl(BaseModel):
    authorize_url: str


class OidcCallback(BaseModel):
    """What PeeringDB put on the /auth/callback URL: ``code`` and ``state``, or ``error``."""

    model_config = ConfigDict(extra="forbid")
    state: str = Field(min_length=1, max_length=512, pattern=NO_NUL)
    code: str | None = Field(None, min_length=1, max_length=2048, pattern=NO_NUL)
    error: str | None = Field(None, max_length=200, pattern=NO_NUL)
    error_description: str | None = Field(None, max_length=1000, pattern=NO_NUL)


class AsnOut(BaseModel):
    asn: int
    source: Literal["peeringdb", "local"]
    network_name: str
    peeringdb_perms: int | None

    @classmethod
    def of(cls, a: UserAsn) -> AsnOut:
        return cls(
            asn=a.asn,
            source=a.source,
            network_name=a.network_name,
            peeringdb_perms=a.peeringdb_perms,
        )


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    email: str | None
    role: Literal["admin", "operator"]
    login_method: Literal["local", "peeringdb"]
    asns: list[AsnOut]
    csrf_token: str

    @classmethod
    def of(cls, user: User, csrf_token: str, method: str) -> MeOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            role=user.role,
            login_method=method,
            asns=[AsnOut.of(a) for a in user.asns],
            csrf_token=csrf_token,
        )
