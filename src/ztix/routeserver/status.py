"""BGP session state read from each route server (`birdc show protocols all`), cached
briefly (``routeservers.status_cache_seconds``) so that polling UIs cost the servers little."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ztix.config import RouteServerConfig
from ztix.routeserver.apply import ProtocolState, status
from ztix.routeserver.connect import transport_for
from ztix.routeserver.transport import RouteServerError, RouteServerTransport


@dataclass(frozen=True)
class ServerSessions:
    server: str
    ok: bool
    read_at: datetime
    error: str | None = None
    protocols: dict[str, ProtocolState] = field(default_factory=dict)


_cache: dict[str, tuple[float, ServerSessions]] = {}
_lock = threading.Lock()


def read_sessions(
    rs: RouteServerConfig,
    *,
    max_age: float,
    transports: Callable[[RouteServerConfig], RouteServerTransport] = transport_for,
) -> ServerSessions:
    """The server's protocols, at most ``max_age`` seconds old; an unreachable server is
    reported (``ok`` false, ``error``), not raised."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(rs.name)
        if cached is not None and now - cached[0] <= max_age:
            return cached[1]
    try:
        transport = transports(rs)
        try:
            found = ServerSessions(rs.name, True, datetime.now(UTC), protocols=status(transport))
        finally:
            transport.close()
    except RouteServerError as exc:
        found = ServerSessions(rs.name, False, datetime.now(UTC), error=str(exc)[:500])
    with _lock:
        _cache[rs.name] = (time.monotonic(), found)
    return found


def forget() -> None:
    with _lock:
        _cache.clear()


def limit_tripped(protocol: ProtocolState) -> str | None:
    """Which limit of the session tripped: "receive", "import", or None. A tripped limit
    shows as "[HIT]" in `show protocols all` (actions warn and block) or, with actions
    restart and disable, as the session's last error "Route limit exceeded"."""
    for channel in protocol.channels.values():
        if channel.receive_limit_hit:
            return "receive"
        if channel.import_limit_hit:
            return "import"
    if protocol.last_error and "limit exceeded" in protocol.last_error.lower():
        # BIRD does not say which limit in the error: report the one the counters reached.
        for channel in protocol.channels.values():
            if channel.receive_limit and channel.imported + channel.filtered >= (
                channel.receive_limit
            ):
                return "receive"
        return "import"
    return None
