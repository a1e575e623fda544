"""Choosing a route server's transport adapter from its config."""

from __future__ import annotations

from ztix.config import RouteServerConfig
from ztix.routeserver.local import LocalTransport
from ztix.routeserver.ssh import SshTransport
from ztix.routeserver.transport import RouteServerTransport


def transport_for(config: RouteServerConfig) -> RouteServerTransport:
    """The adapter the route server's config asks for."""
    if config.transport == "local":
        return LocalTransport.from_config(config)
    return SshTransport(config)
