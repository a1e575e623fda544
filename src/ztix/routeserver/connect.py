"""Choosing a route server's transport adapter from its config."""

from __future__ import annotations

from ztix.config import RouteServerConfig
from ztix.routeserver.local import LocalTransport
from ztix.routeserver.transport import RouteServerTransport


def transport_for(config: RouteServerConfig) -> RouteServerTransport:
    """The adapter the route server's config asks for. The SSH adapter is imported when a
    route server first needs it: asyncssh (with its cryptography) is about 25 MiB that an
    HTTP worker of a site without SSH route servers, or one that never asks, need not hold."""
    if config.transport == "local":
        return LocalTransport.from_config(config)
    from ztix.routeserver.ssh import SshTransport

    return SshTransport(config)
