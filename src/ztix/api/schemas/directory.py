"""The member directory."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ztix.workflow.directory import Connection, Member


class DirectorySessionOut(BaseModel):
    server: str = Field(description="The route server's name")
    family: str = Field(description="ipv4 or ipv6")
    state: str = Field(description="up, down, start, … as BIRD says; unknown if unread")
    info: str = Field(description="e.g. Established, Active, Passive")


class DirectoryConnectionOut(BaseModel):
    network_name: str
    zt_network_id: str
    ipv4: str | None
    ipv6: str | None
    route_server: bool = Field(description="Peers with the route servers (as in IX-F)")
    connected_since: datetime | None
    sessions: list[DirectorySessionOut]

    @classmethod
    def of(cls, c: Connection) -> DirectoryConnectionOut:
        return cls(
            network_name=c.network_name,
            zt_network_id=c.zt_network_id,
            ipv4=c.ipv4,
            ipv6=c.ipv6,
            route_server=c.route_server,
            connected_since=c.connected_since,
            sessions=[
                DirectorySessionOut(server=s.server, family=s.family, state=s.state, info=s.info)
                for s in c.sessions
            ],
        )


class DirectoryMemberOut(BaseModel):
    asn: int
    name: str | None = Field(description="The network's name in PeeringDB, when known")
    member_since: datetime | None = Field(description="When its first connection went live")
    connections: list[DirectoryConnectionOut]

    @classmethod
    def of(cls, m: Member) -> DirectoryMemberOut:
        return cls(
            asn=m.asn,
            name=m.name,
            member_since=m.member_since,
            connections=[DirectoryConnectionOut.of(c) for c in m.connections],
        )


class DirectoryOut(BaseModel):
    ix_name: str
    public: bool = Field(description="Whether anyone may read the directory (directory.public)")
    members: list[DirectoryMemberOut]
