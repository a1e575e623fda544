"""Validation of PeeringDB's OpenID Connect ID tokens (DESIGN §4).

Only RS256, only keys the provider publishes, and every claim we rely on present and right:
iss, aud (and azp), exp, iat, nonce. Each refusal names the check that failed.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from typing import Any, Literal

from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from ztix.auth.identity import CLOCK_LEEWAY_SECONDS
from ztix.errors import AppError

log = logging.getLogger(__name__)

ID_TOKEN_ALGORITHMS = ("RS256",)

IdTokenCheck = Literal[
    "signature", "alg", "iss", "aud", "exp", "iat", "nonce", "malformed", "sub_mismatch"
]


def validate_id_token(
    id_token: str,
    *,
    keys_for: Callable[[str | None], KeySet],
    issuer: str,
    client_id: str,
    nonce: str,
) -> dict[str, Any]:
    """The ID token's claims once its header, RS256 signature and claims check out.

    ``keys_for(kid)`` returns the provider's signing keys (refetched when none is ``kid``).
    Raises ``AppError("id_token_invalid", check=...)`` naming the check that failed.
    """
    header = _jws_header(id_token)
    alg = header.get("alg")
    if alg not in ID_TOKEN_ALGORITHMS:
        # Covers "none" and HS256 (whose secret could be our copy of the public key).
        raise _invalid("alg", f"The ID token is signed with {alg!r}, not RS256")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _invalid("malformed", "The ID token's key id is not a string")
    key_set = keys_for(kid)
    if kid is not None and all(key.kid != kid for key in key_set):
        raise _invalid("signature", "The ID token is signed with a key PeeringDB does not publish")
    candidates = [key for key in key_set if kid is None or key.kid == kid]
    registry = JWSRegistry(algorithms=list(ID_TOKEN_ALGORITHMS), strict_check_header=False)
    decoded: jwt.Token | None = None
    for key in candidates:
        try:
            decoded = jwt.decode(id_token, key, algorithms=ID_TOKEN_ALGORITHMS, registry=registry)
            break
        except BadSignatureError:
            continue
        except JoseError:
            raise _invalid("malformed", "The ID token cannot be decoded") from None
    if decoded is None:
        raise _invalid("signature", "The ID token's signature does not verify")
    claims = decoded.claims
    _validate_claims(claims, issuer=issuer, client_id=client_id, nonce=nonce)
    return claims


def _validate_claims(claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str) -> None:
    registry = jwt.JWTClaimsRegistry(
        leeway=CLOCK_LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        sub={"essential": True},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except MissingClaimError as exc:
        missing = exc.claim.split(",")
        found = [check for name, check in _CLAIM_CHECKS.items() if name in missing]
        raise _invalid(
            found[0] if found else "malformed", f"The ID token lacks {', '.join(missing)}"
        ) from None
    except ExpiredTokenError:
        raise _invalid("exp", "The ID token has expired") from None
    except ClaimError as exc:
        raise _invalid(
            _CLAIM_CHECKS.get(exc.claim, "malformed"),
            f"The ID token's {exc.claim} is not acceptable",
        ) from None
    aud = claims["aud"]
    azp = claims.get("azp")
    if isinstance(aud, list) and len(aud) > 1 and azp is None:
        raise _invalid("aud", "The ID token has several audiences but no azp")
    if azp is not None and azp != client_id:
        raise _invalid("aud", "The ID token was issued to another client (azp)")


# Claim name -> the check it fails, in the order missing claims are reported.
_CLAIM_CHECKS: dict[str, IdTokenCheck] = {
    "iss": "iss",
    "aud": "aud",
    "exp": "exp",
    "iat": "iat",
    "nbf": "iat",  # not yet valid: as good as issued in the future
    "nonce": "nonce",
}


def _invalid(check: IdTokenCheck, detail: str) -> AppError:
    log.warning("PeeringDB ID token rejected (%s): %s", check, detail)
    return AppError("id_token_invalid", detail, check=check)


def _jws_header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS, read without trusting anything in it."""
    parts = token.split(".")
    if len(parts) != 3:
        raise _invalid("malformed", "The ID token is not a signed JWT")
    segment = parts[0]
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        header = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _invalid("malformed", "The ID token's header is not base64url JSON") from None
    if not isinstance(header, dict):
        raise _invalid("malformed", "The ID token's header is not a JSON object")
    return header
