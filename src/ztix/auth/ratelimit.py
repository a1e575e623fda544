"""Rate limits in moving windows: failed logins (per username and per client address),
state-changing requests (per signed-in user and per client address), and reads (per session,
and per client address for requests without one).

Backed by the ``limits`` library: in memory for one process, Redis when several API
workers must share the counts (``auth.rate_limit_storage``).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ztix.config import AuthConfig, RateLimit
from ztix.errors import AppError


def _item(limit: RateLimit) -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(limit.attempts, limit.window_seconds)


class RateLimits:
    """Every limit of one app, on one storage."""

    def __init__(self, config: AuthConfig, storage: Storage | None = None) -> None:
        self._limiter = MovingWindowRateLimiter(
            storage or storage_from_string(config.rate_limit_storage)
        )
        self._login_user = _item(config.login_failures_per_username)
        self._login_addr = _item(config.login_failures_per_address)
        self._write_user = _item(config.writes_per_user)
        self._write_addr = _item(config.writes_per_address)
        self._read_session = _item(config.reads_per_session)
        self._read_addr = _item(config.reads_per_address)

    def _retry_after(self, item: RateLimitItemPerSecond, *key: str) -> int:
        reset_at, _remaining = self._limiter.get_window_stats(item, *key)
        return max(math.ceil(reset_at - time.time()), 1)

    # -- failed logins -----------------------------------------------------------------

    def _login_keys(self, username: str, address: str) -> list[tuple[RateLimitItemPerSecond, str]]:
        return [
            (self._login_user, f"user:{username.lower()}"),
            (self._login_addr, f"addr:{address}"),
        ]

    def check_login(self, username: str, address: str) -> None:
        """Raise ``too_many_attempts`` (with ``retry_after`` seconds) when either limit is hit."""
        retry_after = 0
        for item, key in self._login_keys(username, address):
            if not self._limiter.test(item, "login-failures", key):
                retry_after = max(retry_after, self._retry_after(item, "login-failures", key))
        if retry_after:
            raise AppError(
                "too_many_attempts",
                f"Too many failed attempts; try again in {retry_after} seconds",
                retry_after=retry_after,
            )

    def login_failed(self, username: str, address: str) -> None:
        for item, key in self._login_keys(username, address):
            self._limiter.hit(item, "login-failures", key)

    def login_succeeded(self, username: str) -> None:
        """A correct password clears that username's failures (not the address's)."""
        self._limiter.clear(self._login_user, "login-failures", f"user:{username.lower()}")

    # -- writes ------------------------------------------------------------------------

    def write_by_address(self, address: str) -> None:
        """Count one state-changing request from ``address``; ``rate_limited`` past the limit."""
        self._write(self._write_addr, f"addr:{address}")

    def write_by_user(self, user_id: int) -> None:
        """Count one state-changing request of a signed-in user; ``rate_limited`` past it."""
        self._write(self._write_user, f"user:{user_id}")

    def _write(self, item: RateLimitItemPerSecond, key: str) -> None:
        self._hit(item, "writes", key, "changes")

    # -- reads -------------------------------------------------------------------------

    def read_by_session(self, session_key: str) -> None:
        """Count one read of a signed-in session (``session_key``: its token hash)."""
        self._hit(self._read_session, "reads", f"session:{session_key}", "requests")

    def read_by_address(self, address: str) -> None:
        """Count one read from ``address`` made without a session."""
        self._hit(self._read_addr, "reads", f"addr:{address}", "requests")

    def _hit(self, item: RateLimitItemPerSecond, scope: str, key: str, what: str) -> None:
        """Count one event; ``rate_limited`` (with ``retry_after``) past the limit."""
        if not self._limiter.hit(item, scope, key):
            retry_after = self._retry_after(item, scope, key)
            raise AppError(
                "rate_limited",
                f"Too many {what} in a short time; try again in {retry_after} seconds",
                retry_after=retry_after,
            )
