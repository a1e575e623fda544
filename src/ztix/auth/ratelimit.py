"""Rate limits: login attempts (per username and per client address, each counted before
its password is checked), state-changing requests (per signed-in user and per client
address) and reads (per session, and per client address for requests without one), in
moving windows.

Backed by the ``limits`` library: in memory for one process, Redis when several API
workers must share the counts (``auth.rate_limit_storage``).
"""

from __future__ import annotations

import math
import time
from typing import NoReturn

from limits import RateLimitItemPerSecond
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ztix.config import AuthConfig, RateLimit
from ztix.errors import AppError


def _item(limit: RateLimit) -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(limit.attempts, limit.window_seconds)


def _sync_storage(uri: str) -> Storage:
    storage = storage_from_string(uri)
    if not isinstance(storage, Storage):
        raise ValueError(f"auth.rate_limit_storage {uri!r} is asynchronous; name a sync one")
    return storage


def _login_key(kind: str, subject: str) -> str:
    return f"ztix/login/{kind}/{subject}"


class _AttemptCounter:
    """At most ``limit.attempts`` attempts per window, a window opening at the first
    attempt. Counted with the storage's atomic increment (``INCRBY`` on Redis), so an
    attempt is reserved before it runs, whatever runs beside it."""

    def __init__(self, storage: Storage, limit: RateLimit) -> None:
        self._storage = storage
        self.attempts = limit.attempts
        self.window = limit.window_seconds

    def reserve(self, key: str, *, window: int) -> int:
        """Count one attempt and answer how many the window now holds; past the limit the
        attempt is refused and not counted."""
        count = self._storage.incr(key, window)
        if count > self.attempts:
            self.give_back(key, window)
        return count

    def give_back(self, key: str, window: int) -> None:
        self._storage.incr(key, window, -1)

    def retry_after(self, key: str) -> int:
        return max(math.ceil(self._storage.get_expiry(key) - time.time()), 1)


class RateLimits:
    """Every limit of one app, on one storage."""

    def __init__(
        self,
        config: AuthConfig,
        storage: Storage | None = None,
        *,
        looking_glass: RateLimit | None = None,
    ) -> None:
        self._storage = storage or _sync_storage(config.rate_limit_storage)
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._login_user = _AttemptCounter(self._storage, config.login_failures_per_username)
        self._login_addr = _AttemptCounter(self._storage, config.login_failures_per_address)
        self._lockout_max = config.login_lockout_max_seconds
        self._write_user = _item(config.writes_per_user)
        self._write_addr = _item(config.writes_per_address)
        self._read_session = _item(config.reads_per_session)
        self._read_addr = _item(config.reads_per_address)
        self._looking_glass = _item(looking_glass or RateLimit(attempts=30, window_seconds=60))
        self._read_token = _item(config.reads_per_token)
        self._write_token = _item(config.writes_per_token)

    def _retry_after(self, item: RateLimitItemPerSecond, *key: str) -> int:
        reset_at, _remaining = self._limiter.get_window_stats(item, *key)
        return max(math.ceil(reset_at - time.time()), 1)

    # -- login attempts ----------------------------------------------------------------

    def reserve_login(self, username: str, address: str) -> None:
        """Count one login attempt against its username and its address *before* the
        password is checked, or raise ``too_many_attempts`` (with ``retry_after``).

        Each count is one atomic increment in the storage, so N parallel attempts run at
        most the configured number of password checks. The attempt stays counted as a
        failure unless :meth:`login_succeeded` says otherwise. Each time an address uses up
        its limit, its next window is twice as long, up to ``login_lockout_max_seconds``."""
        user_key = _login_key("user", username.lower())
        addr_key = _login_key("addr", address)
        users, addresses = self._login_user, self._login_addr
        if users.reserve(user_key, window=users.window) > users.attempts:
            self._too_many(users.retry_after(user_key))
        window = self._address_window(address)
        count = addresses.reserve(addr_key, window=window)
        if count > addresses.attempts:
            users.give_back(user_key, users.window)  # not checked after all
            self._too_many(addresses.retry_after(addr_key))
        if count == addresses.attempts:
            self._locked_out(address)

    @staticmethod
    def _too_many(retry_after: int) -> NoReturn:
        raise AppError(
            "too_many_attempts",
            f"Too many failed attempts; try again in {retry_after} seconds",
            retry_after=retry_after,
        )

    def login_succeeded(self, username: str, address: str) -> None:
        """The right password for an active account: the username's failures are cleared
        (the user proved who they are) and the address gets this attempt back, so logins
        that succeed never lock out the others behind a shared address."""
        self._storage.clear(_login_key("user", username.lower()))
        self._login_addr.give_back(_login_key("addr", address), self._address_window(address))

    def unlock(self, *, username: str | None = None, address: str | None = None) -> None:
        """Forget the counted attempts (and an address's back-off) at once (``ztix users
        unlock``)."""
        if username is not None:
            self._storage.clear(_login_key("user", username.lower()))
        if address is not None:
            self._storage.clear(_login_key("addr", address))
            self._storage.clear(_login_key("lockouts", address))

    def _locked_out(self, address: str) -> None:
        """The address used up its window: its next one is twice as long. The doubling is
        forgotten after twice the cap without another lockout, so an address that keeps
        trying stays at the cap. (Read, clear, write: two lockouts of one address at the same
        instant may count as one, which only shortens a back-off; the attempt limit itself
        is exact.)"""
        key = _login_key("lockouts", address)
        lockouts = self._storage.get(key)
        self._storage.clear(key)
        self._storage.incr(key, 2 * self._lockout_max, lockouts + 1)

    def _address_window(self, address: str) -> int:
        lockouts: int = min(self._storage.get(_login_key("lockouts", address)), 32)
        return min(self._login_addr.window << lockouts, self._lockout_max)

    # -- writes ------------------------------------------------------------------------

    def write_by_address(self, address: str) -> None:
        """Count one state-changing request from ``address``; ``rate_limited`` past the limit."""
        self._write(self._write_addr, f"addr:{address}")

    def write_by_user(self, user_id: int) -> None:
        """Count one state-changing request of a signed-in user; ``rate_limited`` past it."""
        self._write(self._write_user, f"user:{user_id}")

    def write_by_token(self, token_id: int) -> None:
        """Count one state-changing request made with an API token; ``rate_limited`` past it."""
        self._write(self._write_token, f"token:{token_id}")

    def _write(self, item: RateLimitItemPerSecond, key: str) -> None:
        self._hit(item, "writes", key, "changes")

    # -- reads -------------------------------------------------------------------------

    def read_by_session(self, session_key: str) -> None:
        """Count one read of a signed-in session (``session_key``: its token hash)."""
        self._hit(self._read_session, "reads", f"session:{session_key}", "requests")

    def looking_glass_query(self, user_id: int) -> None:
        """Count one looking-glass query that reaches a route server (a cache miss), before
        it is sent; ``rate_limited`` past ``routeservers.looking_glass_queries_per_user``."""
        self._hit(self._looking_glass, "looking-glass", f"user:{user_id}", "route-server queries")

    def read_by_token(self, token_id: int) -> None:
        """Count one read made with an API token (admin tokens too)."""
        self._hit(self._read_token, "reads", f"token:{token_id}", "requests")

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
