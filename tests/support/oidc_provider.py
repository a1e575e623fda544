"""A local OpenID Connect provider that behaves like PeeringDB (DESIGN §4 and §8).

It serves real HTTP on a loopback port from a background thread, so the code under test talks
to it exactly as it talks to ``auth.peeringdb.com``:

- discovery at ``<issuer>/.well-known/openid-configuration``, issuer ``<base_url>/oauth2``;
- ``/oauth2/authorize/`` logs the configured user in at once (no login page) and redirects
  (302) to the registered ``redirect_uri`` with ``code`` and ``state``; PKCE S256 is required;
- ``/oauth2/token/`` accepts only ``client_secret_post`` (a Basic header is answered 401, as
  PeeringDB does), single-use codes bound to client, redirect URI and code challenge;
- RS256 ID tokens with ``kid``, a JWKS, and ``/oauth2/userinfo/`` with a Bearer token;
- claims of scopes that were not granted come back as ``null``;
- refresh tokens (``grant_type=refresh_token``, rotated on use), for the periodic re-check;
- userinfo answers with the account as it is *now*: :meth:`FakePeeringDB.update_account`
  changes a user's networks between calls, and ``down`` makes every endpoint answer 503.

Usage::

    with FakePeeringDB() as fake:
        fake.user = FakeUser(networks=[network(213035, perms=15)])
        config = fake.config(redirect_uri="http://127.0.0.1:8000/auth/callback")
        fake.id_token_fault = "expired"   # fault knobs, see the attributes of FakePeeringDB

Every knob is a plain attribute; :meth:`FakePeeringDB.reset` puts them back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import uvicorn
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ztix.config import PeeringDBConfig

SUPPORTED_SCOPES = ("openid", "profile", "email", "networks")
# Which claims each scope releases (PeeringDB's oidc scope mapping).
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "given_name", "family_name", "id", "verified_user"),
    "email": ("email", "email_verified"),
    "networks": ("networks",),
}

IdTokenFault = Literal[
    "unknown_key",  # signed with a key the JWKS does not publish (its own kid)
    "forged_signature",  # signed with another key but carrying the published kid
    "tampered",  # valid signature, then the payload was altered
    "alg_none",  # {"alg": "none"} and no signature
    "hs256_public_key",  # HS256 with the public key's PEM as the HMAC secret
    "wrong_aud",
    "azp_mismatch",  # aud [client_id, other] and azp other
    "wrong_iss",
    "expired",
    "iat_future",
    "wrong_nonce",
    "malformed",  # not a JWT at all
]
TokenFault = Literal["invalid_grant", "server_error", "no_id_token", "not_json"]
UserinfoFault = Literal["unauthorized", "server_error", "not_json", "other_sub"]
DocumentFault = Literal["server_error", "not_json"]


def network(
    asn: int, perms: int = 15, *, id: int | None = None, name: str | None = None
) -> dict[str, Any]:
    """One entry of the ``networks`` claim."""
    return {
        "id": id if id is not None else 10_000 + asn % 100_000,
        "name": name if name is not None else f"Network AS{asn}",
        "asn": asn,
        "perms": perms,
    }


@dataclass
class FakeUser:
    """The PeeringDB account the next authorization logs in."""

    id: int = 4242
    given_name: str = "Ada"
    family_name: str = "Lovelace"
    name: str | None = None  # None: "given family"
    email: str | None = "ada@example.net"
    email_verified: bool = True
    verified_user: bool = True
    # None: the claim is null even when the networks scope is granted.
    networks: list[dict[str, Any]] | None = field(
        default_factory=lambda: [network(213035, perms=15, name="Example Networks")]
    )

    @property
    def sub(self) -> str:
        return str(self.id)

    def claims(self, scopes: set[str]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "name": self.name if self.name is not None else f"{self.given_name} {self.family_name}",
            "given_name": self.given_name,
            "family_name": self.family_name,
            "id": self.id,
            "verified_user": self.verified_user,
            "email": self.email,
            "email_verified": self.email_verified,
            "networks": [dict(n) for n in self.networks] if self.networks is not None else None,
        }
        out: dict[str, Any] = {"sub": self.sub}
        for scope, names in SCOPE_CLAIMS.items():
            for claim in names:
                out[claim] = values[claim] if scope in scopes else None
        return out


@dataclass(frozen=True)
class TokenRequest:
    """What reached the token endpoint (for asserting how the client authenticated)."""

    form: dict[str, str]
    authorization: str | None


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    scopes: set[str]
    nonce: str | None
    code_challenge: str
    user: FakeUser
    expires_at: float


@cache
def _rsa_key(name: str) -> RSAKey:
    # RSA generation is the slow part of starting a provider; keys are shared per process.
    return RSAKey.generate_key(2048, parameters={"kid": name, "use": "sig", "alg": "RS256"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64json(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _s256(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


class FakePeeringDB:
    """PeeringDB's OIDC provider on ``127.0.0.1``. Start with ``with`` or :meth:`start`."""

    def __init__(
        self,
        *,
        client_id: str = "ztix-test",
        client_secret: str = "ztix-test-secret-0123456789",
        redirect_uris: tuple[str, ...] | list[str] = ("http://127.0.0.1:8000/auth/callback",),
        user: FakeUser | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris)
        self._initial_user = user
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._app = Starlette(
            routes=[
                Route("/oauth2/.well-known/openid-configuration", self._discovery),
                Route("/oauth2/.well-known/jwks.json", self._jwks),
                Route("/oauth2/authorize/", self._authorize),
                Route("/oauth2/token/", self._token, methods=["POST"]),
                Route("/oauth2/userinfo/", self._userinfo, methods=["GET", "POST"]),
            ]
        )
        self.reset()

    # -- knobs -----------------------------------------------------------------------

    def reset(self) -> None:
        """Back to a well-behaved provider with the default user; forget recorded traffic."""
        self.user: FakeUser = replace(self._initial_user) if self._initial_user else FakeUser()
        #: Scopes the user declines to grant even when asked (their claims come back null).
        self.withheld_scopes: set[str] = set()
        #: The user clicks "deny": authorize redirects with error=access_denied.
        self.deny_authorization = False
        #: Where the networks claim is released: PeeringDB puts it in userinfo.
        self.networks_claim_in: Literal["userinfo", "id_token", "both"] = "userinfo"
        self.id_token_fault: IdTokenFault | None = None
        self.token_fault: TokenFault | None = None
        self.userinfo_fault: UserinfoFault | None = None
        self.discovery_fault: DocumentFault | None = None
        self.jwks_fault: DocumentFault | None = None
        #: Lifetime of issued ID tokens, codes and access tokens, seconds.
        self.id_token_lifetime = 300
        self.code_lifetime = 60
        self.access_token_lifetime = 3600
        #: Issue refresh tokens (rotated on every use, the old one dies).
        self.issue_refresh_tokens = True
        #: PeeringDB is down: every endpoint answers 503.
        self.down = False
        # Recorded traffic.
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[TokenRequest] = []
        self.userinfo_requests = 0
        self.discovery_requests = 0
        self.jwks_requests = 0
        #: Every access, refresh and ID token handed out (to prove none of them is logged).
        self.issued_tokens: list[str] = []
        self._signing_key = _rsa_key("fake-peeringdb-1")
        self._codes: dict[str, _Grant] = {}
        self._access_tokens: dict[str, tuple[_Grant, float]] = {}
        self._refresh_tokens: dict[str, _Grant] = {}
        #: The accounts as they are now, by user id (set at authorization).
        self.accounts: dict[int, FakeUser] = {}
        self._lock = threading.Lock()

    def update_account(self, user_id: int, **changes: Any) -> None:
        """Change an account at PeeringDB (e.g. ``networks=[...]``); userinfo shows it."""
        with self._lock:
            self.accounts[user_id] = replace(self.accounts[user_id], **changes)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (userinfo answers 401)."""
        with self._lock:
            self._access_tokens = {t: (g, 0.0) for t, (g, _) in self._access_tokens.items()}

    def rotate_signing_key(self) -> None:
        """Sign with a new key and publish only that one (clients must refetch the JWKS)."""
        self._signing_key = _rsa_key("fake-peeringdb-2")

    @property
    def signing_key(self) -> RSAKey:
        return self._signing_key

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakePeeringDB:
        if self._server is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="fake-peeringdb", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the fake PeeringDB provider did not start")
            time.sleep(0.005)
        self._server, self._thread, self._socket = server, thread, sock
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server, self._thread, self._socket = None, None, None

    def __enter__(self) -> FakePeeringDB:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("start the fake PeeringDB provider first")
        return f"http://{self._host}:{self._port}"

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/oauth2"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def config(self, **overrides: Any) -> PeeringDBConfig:
        """A :class:`PeeringDBConfig` for this provider (http:// allowed)."""
        values: dict[str, Any] = {
            "discovery_url": self.discovery_url,
            "client_id": self.client_id,
            "client_secret": SecretStr(self.client_secret),
            "redirect_uri": self.redirect_uris[0],
            "allow_insecure_http": True,
            "http_timeout_seconds": 5,
        }
        values.update(overrides)
        return PeeringDBConfig(**values)

    # -- endpoints ---------------------------------------------------------------------

    def _document_fault(self, fault: DocumentFault | None) -> Response | None:
        if fault == "server_error":
            return PlainTextResponse("Internal Server Error", status_code=500)
        if fault == "not_json":
            return PlainTextResponse("<html>maintenance</html>", media_type="text/html")
        return None

    def _down(self) -> Response | None:
        if self.down:
            return PlainTextResponse("Service Unavailable", status_code=503)
        return None

    async def _discovery(self, request: Request) -> Response:
        self.discovery_requests += 1
        if (down := self._down()) is not None:
            return down
        if (faulty := self._document_fault(self.discovery_fault)) is not None:
            return faulty
        base = self.issuer
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize/",
                "token_endpoint": f"{base}/token/",
                "userinfo_endpoint": f"{base}/userinfo/",
                "jwks_uri": f"{base}/.well-known/jwks.json",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": list(SUPPORTED_SCOPES),
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "claims_supported": [
                    "sub",
                    "id",
                    "name",
                    "given_name",
                    "family_name",
                    "email",
                    "email_verified",
                    "verified_user",
                    "networks",
                ],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        self.jwks_requests += 1
        if (down := self._down()) is not None:
            return down
        if (faulty := self._document_fault(self.jwks_fault)) is not None:
            return faulty
        return JSONResponse(KeySet([self._signing_key]).as_dict(private=False))

    async def _authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.authorize_requests.append(params)
        client_id = params.get("client_id")
        redirect_uri = params.get("redirect_uri", "")
        # Errors about the client or the redirect target are shown, never redirected.
        if client_id != self.client_id:
            return PlainTextResponse("unknown client_id", status_code=400)
        if redirect_uri not in self.redirect_uris:
            return PlainTextResponse("redirect_uri is not registered", status_code=400)
        state = params.get("state")

        def back(**answer: str) -> Response:
            if state is not None:
                answer["state"] = state
            parts = urlsplit(redirect_uri)
            query = "&".join(q for q in (parts.query, urlencode(answer)) if q)
            return RedirectResponse(urlunsplit(parts._replace(query=query)), status_code=302)

        if params.get("response_type") != "code":
            return back(error="unsupported_response_type")
        scopes = set(params.get("scope", "").split())
        if "openid" not in scopes or not scopes <= set(SUPPORTED_SCOPES):
            return back(error="invalid_scope")
        challenge = params.get("code_challenge")
        if not challenge or params.get("code_challenge_method") != "S256":
            return back(error="invalid_request", error_description="PKCE S256 is required")
        if self.deny_authorization:
            return back(error="access_denied")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self.accounts[self.user.id] = replace(self.user)
            self._codes[code] = _Grant(
                client_id=client_id,
                redirect_uri=redirect_uri,
                scopes=scopes - self.withheld_scopes,
                nonce=params.get("nonce"),
                code_challenge=challenge,
                user=replace(self.user),
                expires_at=time.time() + self.code_lifetime,
            )
        return back(code=code)

    async def _token(self, request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace")
        form = dict(parse_qsl(body, keep_blank_values=True))
        authorization = request.headers.get("authorization")
        self.token_requests.append(TokenRequest(form=form, authorization=authorization))

        def refuse(error: str, status: int = 400) -> Response:
            return JSONResponse({"error": error}, status_code=status)

        if (down := self._down()) is not None:
            return down
        if authorization is not None and authorization.lower().startswith("basic "):
            return refuse("invalid_client", 401)
        if self.token_fault == "server_error":
            return PlainTextResponse("Internal Server Error", status_code=500)
        if self.token_fault == "invalid_grant":
            return refuse("invalid_grant")
        if form.get("grant_type") not in ("authorization_code", "refresh_token"):
            return refuse("unsupported_grant_type")
        if form.get("client_id") != self.client_id or not hmac.compare_digest(
            form.get("client_secret", "").encode(), self.client_secret.encode()
        ):
            return refuse("invalid_client", 401)
        if form["grant_type"] == "refresh_token":
            with self._lock:
                refreshed = self._refresh_tokens.pop(form.get("refresh_token", ""), None)
            if refreshed is None:
                return refuse("invalid_grant")
            return self._issue(refreshed, id_token=False)
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # single use, whatever happens
        if (
            grant is None
            or grant.client_id != form["client_id"]
            or grant.redirect_uri != form.get("redirect_uri")
            or grant.expires_at < time.time()
        ):
            return refuse("invalid_grant")
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or not hmac.compare_digest(
            _s256(verifier), grant.code_challenge
        ):
            return refuse("invalid_grant")
        if self.token_fault == "not_json":
            return PlainTextResponse("ok")
        return self._issue(grant, id_token=self.token_fault != "no_id_token")

    def _issue(self, grant: _Grant, *, id_token: bool) -> Response:
        access_token = secrets.token_urlsafe(32)
        answer: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.access_token_lifetime,
            "scope": " ".join(sorted(grant.scopes)),
        }
        with self._lock:
            self._access_tokens[access_token] = (grant, time.time() + self.access_token_lifetime)
            if self.issue_refresh_tokens:
                answer["refresh_token"] = secrets.token_urlsafe(32)
                self._refresh_tokens[answer["refresh_token"]] = grant
        if id_token:
            answer["id_token"] = self._id_token(grant)
        self.issued_tokens += [v for k, v in answer.items() if k.endswith("_token")]
        return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def _userinfo(self, request: Request) -> Response:
        self.userinfo_requests += 1
        if (down := self._down()) is not None:
            return down
        unauthorized = JSONResponse(
            {"error": "invalid_token"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            found = self._access_tokens.get(token) if scheme.lower() == "bearer" else None
        if found is None or found[1] < time.time() or self.userinfo_fault == "unauthorized":
            return unauthorized
        if self.userinfo_fault == "server_error":
            return PlainTextResponse("Internal Server Error", status_code=500)
        if self.userinfo_fault == "not_json":
            return PlainTextResponse("<html>maintenance</html>", media_type="text/html")
        grant = found[0]
        with self._lock:
            account = self.accounts.get(grant.user.id, grant.user)
        claims = account.claims(grant.scopes)
        if self.networks_claim_in == "id_token":
            claims["networks"] = None
        if self.userinfo_fault == "other_sub":
            claims["sub"] = str(grant.user.id + 1)
        return JSONResponse(claims)

    # -- ID tokens ---------------------------------------------------------------------

    def _id_token(self, grant: _Grant) -> str:
        fault = self.id_token_fault
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": grant.user.sub,
            "aud": self.client_id,
            "iat": now,
            "exp": now + self.id_token_lifetime,
            "auth_time": now - 5,
            "jti": secrets.token_hex(8),
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        released = grant.user.claims(grant.scopes)
        if self.networks_claim_in == "userinfo":
            released.pop("networks")
        claims.update({k: v for k, v in released.items() if k != "sub"})

        if fault == "wrong_aud":
            claims["aud"] = "some-other-client"
        elif fault == "azp_mismatch":
            claims["aud"] = [self.client_id, "some-other-client"]
            claims["azp"] = "some-other-client"
        elif fault == "wrong_iss":
            claims["iss"] = "https://auth.example.com/oauth2"
        elif fault == "expired":
            claims["iat"] = now - 3600
            claims["exp"] = now - 600
        elif fault == "iat_future":
            claims["iat"] = now + 600
            claims["exp"] = now + 900
        elif fault == "wrong_nonce":
            claims["nonce"] = secrets.token_urlsafe(16)

        key = self._signing_key
        kid = key.kid
        if fault == "malformed":
            return "this-is-not-a-jwt"
        if fault == "alg_none":
            return f"{_b64json({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64json(claims)}."
        if fault == "hs256_public_key":
            # The classic key-confusion forgery: a verifier that lets the token pick the
            # algorithm would check this HMAC with the RSA public key as the secret.
            signing_input = (
                f"{_b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_b64json(claims)}"
            )
            secret = key.as_pem(private=False)
            mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
            return f"{signing_input}.{_b64(mac)}"
        if fault == "unknown_key":
            key = _rsa_key("fake-peeringdb-unknown")
            kid = key.kid
        elif fault == "forged_signature":
            key = _rsa_key("fake-peeringdb-unknown")
        token = jwt.encode({"alg": "RS256", "kid": kid}, claims, key, algorithms=["RS256"])
        if fault == "tampered":
            header, _, signature = token.split(".")
            claims["sub"] = str(grant.user.id + 1)
            token = f"{header}.{_b64json(claims)}.{signature}"
        return token
