"""The admin's view of the self-hosted ZeroTier controller (``GET /api/v1/admin/controller``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class CheckOut(BaseModel):
    name: str
    status: Literal["pass", "warn", "fail"]
    detail: str


class ChangeOut(BaseModel):
    field: str
    have: Any = Field(description="As the controller has it")
    want: Any = Field(description="As an IX network needs it")


class Layer2Out(BaseModel):
    """The settings that make a ZeroTier network an IX peering LAN (DESIGN §3)."""

    private: bool | None
    mtu: int | None
    multicast_limit: int | None = Field(
        None, description="How many members a multicast or broadcast frame reaches"
    )
    routes: list[str]
    v4_auto_assign: bool | None
    v6_auto_assign: dict[str, bool]
    ethertypes_allowed: list[str] | None = Field(
        description="EtherTypes the flow rules let through; null when the rules are not "
        "the IX's (see drift)"
    )
    rule_count: int


class NetworkStateOut(BaseModel):
    name: str
    zt_network_id: str | None
    ipv4_prefix: str
    ipv6_prefix: str
    present: bool
    members: int | None
    layer2: Layer2Out | None
    drift: list[ChangeOut]
    error: str | None = None


class DifferenceOut(BaseModel):
    kind: str
    network_id: str
    node_id: str | None
    detail: str


class MembershipDriftOut(BaseModel):
    ok: bool
    networks_checked: int
    members_checked: int
    differences: list[DifferenceOut]


class BackupOut(BaseModel):
    name: str
    created_at: datetime | None
    size_bytes: int


class BackupsOut(BaseModel):
    directory: str
    count: int
    last: BackupOut | None


class ControllerOut(BaseModel):
    provider: Literal["controller", "central"]
    checked_at: datetime
    ready: bool
    summary: str
    url: str | None
    address: str | None
    version: str | None
    online: bool | None
    checks: list[CheckOut]
    networks: list[NetworkStateOut]
    membership_drift: MembershipDriftOut | None
    membership_drift_error: str | None = None
    backups: BackupsOut
