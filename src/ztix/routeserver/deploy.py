"""The route servers as the sync use case sees them (``workflow.routeservers``'s
``RouteServerDeployer`` port): render a desired configuration, apply it to one server, and
return what happened. Deciding what follows (audit, request state) is the workflow's."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ztix.config import RouteServerConfig
from ztix.domain.routeserver import DesiredConfig
from ztix.routeserver.apply import ApplyResult, apply
from ztix.routeserver.connect import transport_for
from ztix.routeserver.render import RenderCache, expected_protocols, render_cache
from ztix.routeserver.transport import RouteServerTransport

TransportFactory = Callable[[RouteServerConfig], RouteServerTransport]


class BirdDeployer:
    """Renders with the process's render cache and applies over the server's transport
    (local or SSH, from its config), one connection per apply."""

    def __init__(
        self, transports: TransportFactory = transport_for, renderings: RenderCache = render_cache
    ) -> None:
        self._transports = transports
        self._renderings = renderings

    def render(self, server: str, desired: DesiredConfig) -> tuple[dict[str, str], str]:
        """``(files, desired hash)``; raises ``RenderError`` when it cannot be rendered safely."""
        return self._renderings.rendered(server, desired)

    def apply(
        self, rs: RouteServerConfig, desired: DesiredConfig, files: Mapping[str, str]
    ) -> ApplyResult:
        """Apply ``files`` (rendered from ``desired``) to ``rs``; never raises for the
        server's failure: the result names the host, stage, exit status and output."""
        transport = self._transports(rs)
        try:
            return apply(
                transport,
                files,
                expected_protocols(desired),
                main_config=str(rs.main_config),
                timeout_seconds=rs.configure_timeout_seconds,
            )
        finally:
            transport.close()
