"""``/metrics`` per member session: routes accepted, filtered and sent, read at scrape time
with the cached `birdc show protocols all` (``routeservers.status_cache_seconds``), so a
scrape costs the route servers no more than the status pages do."""

from __future__ import annotations

import re
from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ztix.config import RouteServersConfig
from ztix.routeserver.status import read_sessions

_SESSION = re.compile(r"AS(?P<asn>\d+)_(?P<node>[0-9a-f]{10})_v(?P<family>[46])")


class SessionRoutes(Collector):
    def __init__(self, config: RouteServersConfig) -> None:
        self.config = config

    def describe(self) -> Iterable[Metric]:
        """The names, without asking the route servers (a registry asks at registration)."""
        return list(_families())

    def collect(self) -> Iterable[Metric]:
        routes, up = _families()
        for rs in self.config.servers:
            if not rs.enabled:
                continue
            read = read_sessions(rs, max_age=self.config.status_cache_seconds)
            for name, proto in sorted(read.protocols.items()):
                match = _SESSION.fullmatch(name)
                if match is None or proto.proto.upper() != "BGP":
                    continue
                labels = [rs.name, match["asn"], match["node"], f"ipv{match['family']}"]
                up.add_metric(labels, 1 if proto.bgp_state == "Established" else 0)
                routes.add_metric([*labels, "accepted"], proto.imported)
                routes.add_metric([*labels, "filtered"], proto.filtered)
                routes.add_metric([*labels, "exported"], proto.exported)
        return [routes, up]


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    """Routes per session and kind, and sessions established, empty."""
    routes = GaugeMetricFamily(
        "ztix_route_server_session_routes",
        "Routes of each member session on each route server: accepted (imported), "
        "filtered (kept with a reject reason) and exported (sent to the member)",
        labels=["server", "asn", "node", "family", "kind"],
    )
    up = GaugeMetricFamily(
        "ztix_route_server_session_established",
        "1 when the member's BGP session is Established",
        labels=["server", "asn", "node", "family"],
    )
    return routes, up
