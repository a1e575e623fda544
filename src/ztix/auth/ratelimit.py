"""Failed-login throttling per username and per client address (moving windows).

Backed by the ``limits`` library: in memory for one process, Redis when several API
workers must share the counts (``auth.rate_limit_storage``).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ztix.config import RateLimit
from ztix.errors import AppError


class LoginThrottle:
    def __init__(self, storage_uri: str, per_username: RateLimit, per_address: RateLimit) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._user = RateLimitItemPerSecond(per_username.attempts, per_username.window_seconds)
        self._addr = RateLimitItemPerSecond(per_address.attempts, per_address.window_seconds)

    def _keys(self, username: str, address: str) -> list[tuple[RateLimitItemPerSecond, str]]:
        return [(self._user, f"user:{username.lower()}"), (self._addr, f"addr:{address}")]

    def check(self, username: str, address: str) -> None:
        """Raise ``too_many_attempts`` (with ``retry_after`` seconds) when either limit is hit."""
        retry_after = 0
        for item, key in self._keys(username, address):
            if not self._limiter.test(item, "login-failures", key):
                reset_at, _remaining = self._limiter.get_window_stats(item, "login-failures", key)
                retry_after = max(retry_after, math.ceil(reset_at - time.time()), 1)
        if retry_after:
            raise AppError(
                "too_many_attempts",
                f"Too many failed attempts; try again in {retry_after} seconds",
                retry_after=retry_after,
            )

    def failed(self, username: str, address: str) -> None:
        for item, key in self._keys(username, address):
            self._limiter.hit(item, "login-failures", key)

    def succeeded(self, username: str) -> None:
        """A correct password clears that username's failures (not the address's)."""
        self._limiter.clear(self._user, "login-failures", f"user:{username.lower()}")
