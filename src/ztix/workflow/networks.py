"""IX networks. They are declared in the runtime config and synced into the database."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ztix.config import NetworkConfig, RouteServerConfig, Settings
from ztix.db.models import AddressAssignment, IxNetwork, JoinRequest, RequestStatusCount
from ztix.domain.addressing import AddressRange, AddressUsage, IPAddress, address_usage
from ztix.domain.requests import RequestStatus
from ztix.workflow import audit
from ztix.workflow.audit import Actor


def sync_networks(
    db: Session,
    actor: Actor,
    declared: Sequence[NetworkConfig],
    controller_address: str | None = None,
) -> list[str]:
    """Upsert declared networks; deactivate (never delete) ones no longer declared.

    A network declared by suffix only needs ``controller_address`` (preflight learns it);
    without it the network is left as it is. Returns a line per change, for the CLI and
    logs. Every change is audited.
    """
    changes: list[str] = []
    existing = {n.zt_network_id: n for n in db.scalars(select(IxNetwork))}
    resolved: set[str] = set()
    waiting: set[str] = set()
    for conf in declared:
        nwid = conf.network_id(controller_address)
        if nwid is None:
            waiting.add(conf.suffix or "")
            changes.append(
                f"network suffix {conf.suffix} ({conf.name}) waits for the controller's "
                "address: run `ztix controller preflight`"
            )
            continue
        resolved.add(nwid)
        want = {
            "name": conf.name,
            "description": conf.description,
            "ipv4_prefix": str(conf.ipv4_prefix),
            "ipv6_prefix": str(conf.ipv6_prefix),
            "is_active": True,
        }
        row = existing.get(nwid)
        if row is None:
            row = IxNetwork(zt_network_id=nwid, **want)
            db.add(row)
            db.flush()
            db.add_all(
                RequestStatusCount(network_id=row.id, status=s.value, count=0)
                for s in RequestStatus
            )
            changes.append(f"added network {nwid} ({conf.name})")
            audit.record(
                db,
                actor,
                "network.added",
                target_type="network",
                target_id=nwid,
                details=want,
            )
            continue
        diff = {k: [getattr(row, k), v] for k, v in want.items() if getattr(row, k) != v}
        if diff:
            for key, (_old, new) in diff.items():
                setattr(row, key, new)
            changes.append(f"updated network {nwid}: {', '.join(sorted(diff))}")
            audit.record(
                db,
                actor,
                "network.updated",
                target_type="network",
                target_id=nwid,
                details={"changes": diff},
            )
    for nwid, row in existing.items():
        if nwid[10:] in waiting:
            continue  # may be one of the unresolved suffixes; decide at preflight
        if nwid not in resolved and row.is_active:
            # Requests and audit events refer to it: keep the row, refuse new joins.
            row.is_active = False
            changes.append(f"deactivated network {nwid} (no longer declared)")
            audit.record(db, actor, "network.deactivated", target_type="network", target_id=nwid)
    return changes


def active_networks(db: Session) -> list[IxNetwork]:
    return list(db.scalars(select(IxNetwork).where(IxNetwork.is_active).order_by(IxNetwork.name)))


def get_network(db: Session, zt_network_id: str) -> IxNetwork | None:
    return db.scalar(select(IxNetwork).where(IxNetwork.zt_network_id == zt_network_id))


def all_networks(db: Session) -> list[IxNetwork]:
    return list(db.scalars(select(IxNetwork).order_by(IxNetwork.zt_network_id)))


def reserved_addresses(settings: Settings, conf: NetworkConfig) -> list[IPAddress | AddressRange]:
    """The peering-LAN addresses never handed to a member: the network's
    ``reserved_addresses``, its blackhole next hops and its route servers' own addresses."""
    reserved: list[IPAddress | AddressRange] = [*conf.reserved, *conf.blackhole_next_hops]
    for rs in route_servers_on(settings, conf):
        reserved += [rs.ipv4, rs.ipv6]
    return reserved


def route_servers_on(settings: Settings, conf: NetworkConfig) -> list[RouteServerConfig]:
    """The route servers configured on a declared network, enabled or not, in pair order
    (also when the network is declared by suffix and its full ID is not known yet)."""
    servers = [
        rs for rs in settings.routeservers.servers if settings.find_network(rs.network) == conf
    ]
    return sorted(servers, key=lambda rs: (rs.pair_order, rs.name))


@dataclass(frozen=True)
class NetworkUsage:
    """A declared network as the database has it: its row (None before the first sync),
    its active members and the use of its two prefixes."""

    row: IxNetwork | None
    members: int
    ipv4: AddressUsage
    ipv6: AddressUsage


def network_usage(
    db: Session, settings: Settings, conf: NetworkConfig, zt_network_id: str | None
) -> NetworkUsage:
    """Members and address usage of a declared network. ``zt_network_id`` is its full ID
    when known; else (declared by suffix, the controller's address unknown) the row is
    looked up by suffix."""
    if zt_network_id is not None:
        row = get_network(db, zt_network_id)
    else:
        row = next((n for n in all_networks(db) if n.zt_network_id[10:] == conf.id_suffix), None)
    members = 0
    held: list[IPAddress] = []
    if row is not None:
        members = (
            db.scalar(
                select(func.count()).where(
                    JoinRequest.network_id == row.id,
                    JoinRequest.status == RequestStatus.ACTIVE.value,
                )
            )
            or 0
        )
        held = [
            ipaddress.ip_address(a)
            for a in db.scalars(
                select(AddressAssignment.address).where(AddressAssignment.network_id == row.id)
            )
        ]
    reserved = reserved_addresses(settings, conf)
    return NetworkUsage(
        row=row,
        members=members,
        ipv4=address_usage(conf.ipv4_prefix, reserved, held),
        ipv6=address_usage(conf.ipv6_prefix, reserved, held),
    )
