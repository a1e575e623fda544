"""What PeeringDB's login says about a user: profile, networks and the OAuth tokens.

Plain values read from PeeringDB's answers (token response, ID token claims, userinfo),
shared by the OIDC client (``auth.peeringdb``) and the grant rules (``workflow.grants``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from ztix.errors import AppError

log = logging.getLogger(__name__)

# Clock skew tolerated on token expiry, and on the ID token's exp and iat.
CLOCK_LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class PeeringDBNetwork:
    id: int
    name: str
    asn: int
    # Bitmask: 1 read, 2 update, 4 create, 8 delete.
    perms: int


@dataclass(frozen=True)
class OAuthTokens:
    """The tokens PeeringDB issued; kept (encrypted) for the periodic re-check."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    # None: PeeringDB did not say (``expires_in`` absent).
    expires_at: float | None  # Unix time

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at - CLOCK_LEEWAY_SECONDS


@dataclass(frozen=True)
class PeeringDBIdentity:
    sub: str
    id: int
    name: str
    email: str | None
    email_verified: bool
    verified_user: bool
    networks: tuple[PeeringDBNetwork, ...]
    # The tokens the profile was read with (the newest, after a refresh); secret, so out of
    # the repr, and no part of what the identity is.
    tokens: OAuthTokens | None = field(default=None, compare=False, repr=False)


def eligible_networks(identity: PeeringDBIdentity, required_perms: int) -> list[PeeringDBNetwork]:
    """The networks on which the user holds every permission bit of ``required_perms``."""
    return [net for net in identity.networks if net.perms & required_perms == required_perms]


def check_verified(identity: PeeringDBIdentity) -> None:
    """Refuse accounts PeeringDB has not verified, or whose e-mail is unverified."""
    if not identity.verified_user:
        raise AppError("user_not_verified", "The PeeringDB account is not verified")
    if not identity.email_verified:
        raise AppError("user_not_verified", "The PeeringDB account's e-mail is not verified")


def tokens_from_response(token: Mapping[str, Any]) -> OAuthTokens:
    access_token = token.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise AppError("token_exchange_failed", "PeeringDB returned no access token")
    token_type = token.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise AppError("token_exchange_failed", "PeeringDB returned a non-Bearer token")
    refresh_token = token.get("refresh_token")
    expires_in = token.get("expires_in")
    return OAuthTokens(
        access_token=access_token,
        refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
        expires_at=time.time() + expires_in if _is_int(expires_in) else None,
    )


def identity_from_claims(
    id_claims: Mapping[str, Any], userinfo: Mapping[str, Any]
) -> PeeringDBIdentity:
    # The userinfo answer is the profile of record; the ID token fills what it left null.
    claims = {**id_claims, **{k: v for k, v in userinfo.items() if v is not None}}
    sub = str(id_claims["sub"])
    user_id = claims.get("id")
    if not _is_int(user_id):
        if not sub.isdigit():
            raise AppError("userinfo_failed", "PeeringDB's profile lacks the user id")
        user_id = int(sub)
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = (claims.get("given_name"), claims.get("family_name"))
        name = " ".join(p for p in parts if isinstance(p, str) and p)
    email = claims.get("email")
    return PeeringDBIdentity(
        sub=sub,
        id=user_id,
        name=name,
        email=email if isinstance(email, str) and email else None,
        email_verified=claims.get("email_verified") is True,
        verified_user=claims.get("verified_user") is True,
        networks=_networks(claims.get("networks")),
    )


def _networks(value: object) -> tuple[PeeringDBNetwork, ...]:
    if not isinstance(value, list):  # null when the networks scope was not granted
        return ()
    networks = []
    for item in value:
        if not isinstance(item, dict):
            continue
        net_id, asn, perms, name = (item.get(k) for k in ("id", "asn", "perms", "name"))
        if not (_is_int(net_id) and _is_int(asn) and _is_int(perms)):
            log.warning("Ignoring a malformed network in a PeeringDB profile")
            continue
        networks.append(
            PeeringDBNetwork(
                id=net_id, name=name if isinstance(name, str) else "", asn=asn, perms=perms
            )
        )
    return tuple(networks)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
