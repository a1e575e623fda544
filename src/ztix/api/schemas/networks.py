"""The Networks admin page (``GET /api/v1/admin/networks``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ztix.api.schemas.controller import ChangeOut, Layer2Out
from ztix.domain.addressing import AddressUsage


class AddressUsageOut(BaseModel):
    """How a peering prefix is used. Exact counts; an IPv6 /64 has about 1.8e19 addresses,
    which a JavaScript client reads as an approximation."""

    prefix: str
    total: int = Field(description="Addresses a member could ever be given")
    reserved: int = Field(description="Kept by the IX: reserved_addresses, route servers, …")
    used: int = Field(description="Held by members (allocated in the database)")
    free: int

    @classmethod
    def of(cls, prefix: str, usage: AddressUsage) -> AddressUsageOut:
        return cls(
            prefix=prefix,
            total=usage.total,
            reserved=usage.reserved,
            used=usage.used,
            free=usage.free,
        )


class NetworkRouteServerOut(BaseModel):
    name: str
    enabled: bool
    transport: str
    asn: int
    node_id: str | None
    ipv4: str
    ipv6: str


class AdminNetworkOut(BaseModel):
    """A declared IX network: its layer-2 settings as declared and as the controller has
    them, the fields that differ, its members, address usage and route servers."""

    name: str
    description: str
    zt_network_id: str | None = Field(
        description="The full ID; null while only its suffix is known (run preflight)"
    )
    synced: bool = Field(description="In the database (ztix networks sync, or serve at start)")
    members: int = Field(description="Active members (requests in state active)")
    desired: Layer2Out
    actual: Layer2Out | None = Field(description="Null when the controller was not read")
    drift: list[ChangeOut]
    controller_members: int | None = Field(description="Members on the controller")
    controller_error: str | None = Field(
        description="Why the actual settings are missing, in a sentence"
    )
    ipv4: AddressUsageOut
    ipv6: AddressUsageOut
    route_servers: list[NetworkRouteServerOut]
