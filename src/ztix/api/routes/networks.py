"""The Networks admin page's API: each declared IX network with its layer-2 settings as
declared and as the controller has them (drift), its members, the use of its peering
prefixes and its route servers. Read-only; nothing is audited."""

from __future__ import annotations

from fastapi import APIRouter

from ztix.api.deps import AdminUser, Csrf, DatabaseRoute, DbSession, SettingsDep
from ztix.api.problems import responses
from ztix.api.routes.controller import layer2_out, read_networks
from ztix.api.schemas.networks import AddressUsageOut, AdminNetworkOut, NetworkRouteServerOut
from ztix.workflow.networks import network_usage, route_servers_on
from ztix.zerotier import layer2

router = APIRouter(
    route_class=DatabaseRoute, prefix="/api/v1/admin", tags=["admin"], dependencies=[Csrf]
)

AUTH = ("not_authenticated", "session_expired", "account_disabled", "admin_required")


@router.get("/networks", response_model=list[AdminNetworkOut], responses=responses(*AUTH))
def admin_list_networks(
    db: DbSession, _admin: AdminUser, settings: SettingsDep
) -> list[AdminNetworkOut]:
    """Every network of the config (``networks:``), in its order: desired and actual
    layer-2 settings with the fields that differ, active members, IPv4/IPv6 address usage
    and the route-server nodes on it. A controller that does not answer is an answer: the
    actual settings are null and ``controller_error`` says why."""
    # No connection is held while the controller answers.
    db.rollback()
    states = read_networks(settings)
    out: list[AdminNetworkOut] = []
    for conf, state in zip(settings.networks, states, strict=True):
        usage = network_usage(db, settings, conf, state.zt_network_id)
        nwid = state.zt_network_id or (usage.row.zt_network_id if usage.row else None)
        out.append(
            AdminNetworkOut(
                name=conf.name,
                description=conf.description,
                zt_network_id=nwid,
                synced=usage.row is not None and usage.row.is_active,
                members=usage.members,
                desired=layer2_out(layer2.desired_network(conf)),
                actual=state.layer2,
                drift=state.drift,
                controller_members=state.members,
                controller_error=state.error,
                ipv4=AddressUsageOut.of(str(conf.ipv4_prefix), usage.ipv4),
                ipv6=AddressUsageOut.of(str(conf.ipv6_prefix), usage.ipv6),
                route_servers=[
                    NetworkRouteServerOut(
                        name=rs.name,
                        enabled=rs.enabled,
                        transport=rs.transport,
                        asn=rs.asn,
                        node_id=rs.node_id,
                        ipv4=str(rs.ipv4),
                        ipv6=str(rs.ipv6),
                    )
                    for rs in route_servers_on(settings, conf)
                ],
            )
        )
    return out
