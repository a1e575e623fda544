"""PeeringDB login: an OpenID Connect relying party (authorization code flow with PKCE).

PeeringDB's quirks (DESIGN §4): endpoints and issuer come from discovery, the token endpoint
accepts only ``client_secret_post`` (Basic auth is answered 401), ID tokens are RS256, and
claims of scopes that were not granted come back as ``null`` rather than absent.

No database and no web framework here: the caller keeps ``state``, ``nonce`` and
``code_verifier`` bound to the browser session and passes them back to :meth:`complete`.
Secrets and tokens never appear in logs or error details.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ztix import observability
from ztix.auth.identity import (
    OAuthTokens,
    PeeringDBIdentity,
    identity_from_claims,
    tokens_from_response,
)
from ztix.config import PeeringDBConfig
from ztix.errors import AppError

if TYPE_CHECKING:
    from joserfc.jwk import KeySet


@functools.cache
def _authlib() -> SimpleNamespace:
    """Authlib, imported at the first PeeringDB login rather than in every process that
    imports this module (with joserfc, about 10 MiB an HTTP worker of a site without
    PeeringDB login, or before anyone logs in, need not hold: issue 17, P6).

    Authlib 1.9 prefers the "httpx2" distribution and warns once at import when it falls
    back to httpx, which is the one we ship; the warning says nothing actionable to an
    operator."""
    import authlib.deprecate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
        from authlib.common.urls import add_params_to_uri
        from authlib.integrations.base_client import OAuthError
        from authlib.integrations.httpx_client import OAuth2Client
        from authlib.oauth2.rfc7636 import create_s256_code_challenge
    return SimpleNamespace(
        add_params_to_uri=add_params_to_uri,
        OAuthError=OAuthError,
        OAuth2Client=OAuth2Client,
        create_s256_code_challenge=create_s256_code_challenge,
    )


log = logging.getLogger(__name__)

SCOPES = ("openid", "profile", "email", "networks")
# Discovery documents and key sets change rarely; refetch after this long anyway.
METADATA_TTL_SECONDS = 3600
RECHECK_SECONDS = 30  # a failed discovery is fetched again by check() at most this often


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str


@dataclass(frozen=True)
class AuthorizationStart:
    """Where to send the browser, and what to remember (server-side) until it comes back."""

    authorize_url: str
    state: str
    nonce: str
    code_verifier: str


class PeeringDBClient:
    """Talks to PeeringDB's OpenID Connect endpoints. Safe to share between threads.

    ``transport`` replaces the network (tests); by default each request goes out over a
    pooled connection with ``config.http_timeout_seconds``.
    """

    def __init__(
        self, config: PeeringDBConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._config = config
        self._transport = transport
        # Made at first use (``_http``): a client's TLS context loads the CA bundle (~2.8 MiB
        # in an HTTP worker), which a site without PeeringDB login never needs (issue 17, P6).
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._closed = False
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._jwks: KeySet | None = None
        self._fetched_at = 0.0
        # The last failure of check() and when it happened (retried every RECHECK_SECONDS).
        self._failure: str | None = None
        self._failed_at = 0.0

    def close(self) -> None:
        with self._client_lock:
            self._closed = True
            client = self._client
        if client is not None:
            client.close()

    @property
    def _http(self) -> httpx.Client:
        """The pooled client, made once, at the first request."""
        client = self._client
        if client is None:
            with self._client_lock:
                if self._closed:  # what httpx raises for a closed client
                    raise RuntimeError("Cannot send a request, as the client has been closed.")
                if self._client is None:
                    self._client = httpx.Client(**self._http_options())
                client = self._client
        return client

    def __enter__(self) -> PeeringDBClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- discovery -------------------------------------------------------------------

    def discover(self) -> ProviderMetadata:
        """The provider's endpoints and issuer, fetched once (with its key set) and cached."""
        with self._lock:
            fresh = time.monotonic() - self._fetched_at < METADATA_TTL_SECONDS
            if self._metadata is None or not fresh:
                metadata = self._fetch_metadata()
                self._jwks = self._fetch_jwks(metadata)
                self._metadata = metadata
                self._fetched_at = time.monotonic()
            return self._metadata

    def check(self) -> str | None:
        """None when discovery and the key set are fetched, valid and cached; else what is
        wrong, naming the discovery URL. For start-up and ``/readyz``: a failure is fetched
        again at most every ``RECHECK_SECONDS``, so probes do not hammer PeeringDB."""
        with self._lock:
            fresh = time.monotonic() - self._fetched_at < METADATA_TTL_SECONDS
            if self._metadata is not None and fresh:
                return None
            if self._failure and time.monotonic() - self._failed_at < RECHECK_SECONDS:
                return self._failure
        try:
            self.discover()
        except AppError as exc:
            failure = f"{self._config.discovery_url}: {exc.detail}"
            with self._lock:
                self._failure, self._failed_at = failure, time.monotonic()
            return failure
        with self._lock:
            self._failure = None
        return None

    def _key_set(self, kid: str | None) -> KeySet:
        """The provider's signing keys, refetched once when none of them is ``kid``."""
        metadata = self.discover()
        with self._lock:
            jwks = self._jwks
            assert jwks is not None
            if kid is not None and all(key.kid != kid for key in jwks):
                log.info("PeeringDB ID token names an unknown key id; refetching the JWKS")
                jwks = self._jwks = self._fetch_jwks(metadata)
            return jwks

    def _fetch_metadata(self) -> ProviderMetadata:
        url = self._config.discovery_url
        self._require_secure(url, "discovery_url")
        doc = self._get_json(url, "discovery document", "oidc_discovery")
        fields: dict[str, str] = {}
        for name in (
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
        ):
            value = doc.get(name)
            if not isinstance(value, str) or not value:
                raise AppError(
                    "provider_unavailable", f"PeeringDB's discovery document lacks {name}"
                )
            if name != "issuer":
                self._require_secure(value, name)
            fields[name] = value
        return ProviderMetadata(**fields)

    def _fetch_jwks(self, metadata: ProviderMetadata) -> KeySet:
        doc = self._get_json(metadata.jwks_uri, "key set", "oidc_jwks")
        raw_keys = doc.get("keys")
        if not isinstance(raw_keys, list):
            raise AppError("provider_unavailable", "PeeringDB's key set has no keys")
        from joserfc.errors import JoseError
        from joserfc.jwk import Key, KeySet, RSAKey

        keys: list[Key] = []
        for raw in raw_keys:
            # Only RSA signing keys: an "oct" key here must never become an HMAC secret.
            if not isinstance(raw, dict) or raw.get("kty") != "RSA":
                continue
            if raw.get("use") not in (None, "sig"):
                continue
            try:
                keys.append(RSAKey.import_key(raw))
            except (JoseError, ValueError, TypeError):
                log.warning("Ignoring an unusable key in PeeringDB's key set")
        if not keys:
            raise AppError("provider_unavailable", "PeeringDB's key set has no RSA signing key")
        return KeySet(keys)

    def _get_json(
        self,
        url: str,
        what: str,
        kind: str,
        *,
        code: str = "provider_unavailable",
        unreachable: str | None = None,
        body: str | None = None,
        access_token: str | None = None,
    ) -> dict[str, Any]:
        """GET a JSON object from PeeringDB; any failure is ``AppError(code)`` saying what
        (``unreachable``: the sentence when it cannot be reached; ``body``: what the
        document is, when it is not a JSON object)."""
        headers = {"Accept": "application/json"}
        if access_token is not None:
            headers["Authorization"] = f"Bearer {access_token}"
        try:
            response = observability.peeringdb_fetch(
                kind, lambda: self._http.get(url, headers=headers)
            )
        except httpx.HTTPError as exc:
            unreachable = unreachable or f"Cannot fetch PeeringDB's {what}"
            log.warning("%s: %s", unreachable, type(exc).__name__)
            raise AppError(code, unreachable) from None
        if not response.is_success:
            log.warning("PeeringDB's %s answered HTTP %s", what, response.status_code)
            raise AppError(
                code,
                f"PeeringDB's {what} answered HTTP {response.status_code}",
                upstream_status=response.status_code,
            )
        doc = _json_object(response)
        if doc is None:
            raise AppError(code, f"PeeringDB's {body or what} is not a JSON object")
        return doc

    # -- the flow ----------------------------------------------------------------------

    def start(self) -> AuthorizationStart:
        """A fresh authorization request: send the browser to ``authorize_url``."""
        metadata = self.discover()
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        code_verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43..128
        params = [
            ("response_type", "code"),
            ("client_id", self._config.client_id),
            ("redirect_uri", self._config.redirect_uri),
            ("scope", " ".join(SCOPES)),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", _authlib().create_s256_code_challenge(code_verifier)),
            ("code_challenge_method", "S256"),
        ]
        url = str(_authlib().add_params_to_uri(metadata.authorization_endpoint, params))
        return AuthorizationStart(
            authorize_url=url, state=state, nonce=nonce, code_verifier=code_verifier
        )

    def complete(self, code: str, *, nonce: str, code_verifier: str) -> PeeringDBIdentity:
        """Exchange the code, validate the ID token, and read the user's profile.

        The caller has already matched ``state`` against the one it stored for this browser.
        """
        metadata = self.discover()
        token = self._token_request(
            metadata, grant_type="authorization_code", code=code, code_verifier=code_verifier
        )
        tokens = tokens_from_response(token)
        id_token = token.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise AppError("token_exchange_failed", "PeeringDB returned no ID token")
        from ztix.auth.id_token import validate_id_token  # joserfc: at the first login

        id_claims = validate_id_token(
            id_token,
            keys_for=self._key_set,
            issuer=metadata.issuer,
            client_id=self._config.client_id,
            nonce=nonce,
        )
        userinfo = self._userinfo(metadata, tokens.access_token)
        if userinfo.get("sub") != id_claims["sub"]:
            raise AppError(
                "id_token_invalid",
                "The profile belongs to another user than the ID token",
                check="sub_mismatch",
            )
        return replace(identity_from_claims(id_claims, userinfo), tokens=tokens)

    def recheck(
        self,
        tokens: OAuthTokens,
        peeringdb_id: int,
        *,
        refreshed: Callable[[OAuthTokens], None] | None = None,
    ) -> PeeringDBIdentity:
        """Re-read a user's profile (their networks now) with the tokens stored at login.

        An expired access token, or one the userinfo endpoint refuses, is first refreshed
        when PeeringDB issued a refresh token. New tokens are handed to ``refreshed`` at
        once, before the profile is asked for: PeeringDB rotates refresh tokens, so the old
        one is dead even if what follows fails. The identity carries the tokens it was read
        with. Raises :class:`AppError` when PeeringDB cannot be reached or refuses.
        """
        metadata = self.discover()

        def refresh(refresh_token: str) -> OAuthTokens:
            new = self._refresh(metadata, refresh_token)
            if refreshed is not None:
                refreshed(new)
            return new

        did_refresh = False
        if tokens.expired(time.time()) and tokens.refresh_token:
            tokens, did_refresh = refresh(tokens.refresh_token), True
        try:
            userinfo = self._userinfo(metadata, tokens.access_token)
        except AppError as exc:
            if exc.extra.get("upstream_status") != 401 or did_refresh or not tokens.refresh_token:
                raise
            tokens = refresh(tokens.refresh_token)
            userinfo = self._userinfo(metadata, tokens.access_token)
        sub = userinfo.get("sub")
        if not isinstance(sub, str | int) or str(sub) != str(peeringdb_id):
            raise AppError("userinfo_failed", "PeeringDB's profile is another user's")
        return replace(identity_from_claims({"sub": str(sub)}, userinfo), tokens=tokens)

    def _refresh(self, metadata: ProviderMetadata, refresh_token: str) -> OAuthTokens:
        token = self._token_request(
            metadata, grant_type="refresh_token", refresh_token=refresh_token
        )
        tokens = tokens_from_response(token)
        # PeeringDB may rotate the refresh token; keep the old one if it did not.
        return tokens if tokens.refresh_token else replace(tokens, refresh_token=refresh_token)

    def _token_request(self, metadata: ProviderMetadata, **params: str) -> Mapping[str, Any]:
        """One call of the token endpoint (``client_secret_post``), its answer as a dict."""
        answered: list[int] = []  # the token endpoint's HTTP status, for the metrics

        def seen(response: httpx.Response) -> None:
            answered.append(response.status_code)

        oauth = _authlib().OAuth2Client(
            client_id=self._config.client_id,
            client_secret=self._config.client_secret.get_secret_value(),
            token_endpoint_auth_method="client_secret_post",  # noqa: S106  (a method name)
            code_challenge_method="S256",
            redirect_uri=self._config.redirect_uri,
            event_hooks={"response": [seen]},
            **self._http_options(),
        )
        oauth.register_compliance_hook("access_token_response", _refuse_token_error)
        started = time.perf_counter()
        outcome = "error"
        try:
            token: Mapping[str, Any] = oauth.fetch_token(metadata.token_endpoint, **params)
        except httpx.HTTPError as exc:
            outcome = observability.failure_status(exc)
            log.warning("Cannot reach PeeringDB's token endpoint: %s", type(exc).__name__)
            raise AppError(
                "provider_unavailable", "Cannot reach PeeringDB's token endpoint"
            ) from None
        except _authlib().OAuthError as exc:
            error = _safe_error_code(getattr(exc, "error", None))
            raise AppError(
                "token_exchange_failed",
                f"PeeringDB refused the {params['grant_type'].replace('_', ' ')}: {error}",
                provider_error=error,
            ) from None
        except ValueError:
            raise AppError(
                "token_exchange_failed", "PeeringDB's token response is not a JSON object"
            ) from None
        finally:
            status = str(answered[-1]) if answered else outcome
            observability.record_peeringdb_fetch(
                "oidc_token", status, time.perf_counter() - started
            )
            if self._transport is None:  # an injected transport belongs to the caller
                oauth.close()
        return token

    def _userinfo(self, metadata: ProviderMetadata, access_token: str) -> dict[str, Any]:
        return self._get_json(
            metadata.userinfo_endpoint,
            "userinfo endpoint",
            "oidc_userinfo",
            code="userinfo_failed",
            unreachable="Cannot reach PeeringDB's userinfo endpoint",
            body="profile",
            access_token=access_token,
        )

    # -- helpers -----------------------------------------------------------------------

    def _http_options(self) -> dict[str, Any]:
        return {
            "timeout": self._config.http_timeout_seconds,
            "transport": self._transport,
            "follow_redirects": False,
        }

    def _require_secure(self, url: str, what: str) -> None:
        scheme = urlsplit(url).scheme
        if scheme == "https" or (scheme == "http" and self._config.allow_insecure_http):
            return
        raise AppError(
            "provider_unavailable",
            f"PeeringDB's {what} must be an https:// URL "
            "(http:// only with peeringdb.allow_insecure_http)",
        )


_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        doc = response.json()
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _safe_error_code(value: object) -> str:
    """The provider's OAuth ``error`` code if it looks like one (it is echoed to users)."""
    if isinstance(value, str) and _ERROR_CODE.match(value):
        return value
    return "unknown_error"


def _refuse_token_error(response: httpx.Response) -> httpx.Response:
    """Authlib hook: any non-2xx answer is a refusal, whatever its body looks like."""
    if response.is_success:
        return response
    doc = _json_object(response) or {}
    error = _safe_error_code(doc.get("error"))
    log.warning("PeeringDB's token endpoint answered HTTP %s (%s)", response.status_code, error)
    raise AppError(
        "token_exchange_failed",
        f"PeeringDB's token endpoint answered HTTP {response.status_code}: {error}",
        provider_error=error,
        upstream_status=response.status_code,
    )
