"""Sign-in: sessions, rate limits, and PeeringDB OAuth login."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from ztix.config.base import Strict

PEERINGDB_DISCOVERY_URL = "https://auth.peeringdb.com/oauth2/.well-known/openid-configuration"


class RateLimit(Strict):
    """At most ``attempts`` events (failed logins, writes) within ``window_seconds``."""

    attempts: int = Field(ge=1)
    window_seconds: int = Field(ge=1)


class AuthConfig(Strict):
    session_ttl_hours: float = Field(12, gt=0, le=24 * 30)
    session_idle_minutes: float = Field(120, gt=0)
    # None: Secure cookies everywhere but in the development environment.
    cookie_secure: bool | None = None
    cookie_name: str = Field("ztix_session", pattern=r"^[A-Za-z0-9_]+$")
    login_failures_per_username: RateLimit = RateLimit(attempts=5, window_seconds=900)
    login_failures_per_address: RateLimit = RateLimit(attempts=20, window_seconds=900)
    # Each time an address uses up its login limit, its next window is twice as long, up to
    # this many seconds; the doubling is forgotten after twice this without a lockout.
    login_lockout_max_seconds: int = Field(4 * 3600, ge=1)
    # State-changing requests (POST, PUT, PATCH, DELETE), answered 429 `rate_limited` past
    # either limit: per signed-in member (not admins), and per client address (anyone).
    writes_per_user: RateLimit = RateLimit(attempts=60, window_seconds=60)
    writes_per_address: RateLimit = RateLimit(attempts=300, window_seconds=60)
    # Reads (GET, HEAD, OPTIONS), answered 429 `rate_limited` past the limit: per session of a
    # signed-in member (not admins), and per client address for requests without a session.
    reads_per_session: RateLimit = RateLimit(attempts=600, window_seconds=60)
    reads_per_address: RateLimit = RateLimit(attempts=600, window_seconds=60)
    # "memory://" for one process; "redis://host:6379/N" when several API workers run.
    rate_limit_storage: str = "memory://"
    # API tokens (``Authorization: Bearer``): reads and writes allowed per token, whoever
    # owns it (admin tokens too), and the longest lifetime a token may be given.
    reads_per_token: RateLimit = RateLimit(attempts=600, window_seconds=60)
    writes_per_token: RateLimit = RateLimit(attempts=60, window_seconds=60)
    api_token_max_days: int = Field(365, ge=1, le=3650)

    @model_validator(mode="after")
    def _lockout_cap(self) -> AuthConfig:
        if self.login_lockout_max_seconds < self.login_failures_per_address.window_seconds:
            raise ValueError(
                "login_lockout_max_seconds must be at least "
                "login_failures_per_address.window_seconds"
            )
        return self


class PeeringDBConfig(Strict):
    enabled: bool = True
    discovery_url: str = PEERINGDB_DISCOVERY_URL
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    # Where PeeringDB sends the browser back: the SPA's /auth/callback page.
    redirect_uri: str = "http://127.0.0.1:8000/auth/callback"
    # An ASN is granted when the network's perms has every bit of this mask
    # (1 read, 2 update, 4 create, 8 delete).
    required_perms: int = Field(2, ge=1, le=15)
    state_ttl_seconds: int = Field(600, ge=30, le=3600)
    # PeeringDB user ids (the `id` claim) that are IX admins.
    admin_user_ids: tuple[int, ...] = ()
    http_timeout_seconds: float = Field(10, gt=0)
    # Accept http:// endpoints (tests and local providers only).
    allow_insecure_http: bool = False
    # Re-read every PeeringDB user's networks this often with their stored token; lost
    # ASNs are revoked. 0 turns the re-check off.
    recheck_interval_hours: float = Field(6, ge=0)
    # Sessions of a PeeringDB user whose networks PeeringDB has not confirmed for this long
    # (no login, no successful re-check) are refused: they log in again.
    recheck_max_age_hours: float = Field(168, gt=0)
    # Fernet keys (comma-separated, `ztix.auth.tokens.generate_key()`) that encrypt stored
    # PeeringDB tokens: the first encrypts, all decrypt (rotation). Empty: no token is
    # stored and users log in again after recheck_max_age_hours.
    token_keys: SecretStr = SecretStr("")

    @field_validator("token_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr) -> SecretStr:
        keys = token_key_list(value)
        if not keys:  # no key, no cryptography imported (auth/tokens.py)
            return value
        from cryptography.fernet import Fernet

        for key in keys:
            try:
                Fernet(key)
            except ValueError:
                raise ValueError(
                    "each key must be 32 url-safe base64-encoded bytes (a Fernet key)"
                ) from None
        return value


def token_key_list(value: SecretStr) -> list[str]:
    """The comma-separated keys of ``peeringdb.token_keys``, newest first."""
    return [k.strip() for k in value.get_secret_value().split(",") if k.strip()]
