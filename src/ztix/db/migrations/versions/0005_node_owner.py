"""a node belongs to one member per IX network

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Before this revision two ASNs could both hold one ZeroTier node on one IX network. Such pairs
are settled first, so the new unique index can be made: per (network, node) the oldest
request that holds the node keeps it; every later one becomes ``failed`` with
``last_error_code`` ``node_in_use``, with an audit event each, and the request counters of
those networks are recounted. Downgrading drops the index and leaves the requests failed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from ztix.db.base import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Frozen here: the statuses of this revision, not whatever the code says later.
STATUSES = (
    "pending",
    "approved",
    "provisioning",
    "active",
    "rejected",
    "cancelled",
    "failed",
    "deprovisioning",
    "removed",
)
HOLDING = ("active", "approved", "deprovisioning", "pending", "provisioning")
HOLDER_WHERE = "status IN ('active', 'approved', 'deprovisioning', 'pending', 'provisioning')"

requests = sa.table(
    "join_requests",
    sa.column("id", sa.Uuid()),
    sa.column("asn", sa.BigInteger()),
    sa.column("network_id", sa.Integer()),
    sa.column("node_id", sa.String()),
    sa.column("status", sa.String()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
    sa.column("last_error_code", sa.String()),
    sa.column("last_error_message", sa.Text()),
    sa.column("last_error_system", sa.String()),
    sa.column("lease_owner", sa.String()),
    sa.column("lease_expires_at", UTCDateTime()),
    sa.column("next_attempt_at", UTCDateTime()),
)
counters = sa.table(
    "request_status_counts",
    sa.column("network_id", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("count", sa.BigInteger()),
)
audit_events = sa.table(
    "audit_events",
    sa.column("occurred_at", UTCDateTime()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("target_type", sa.String()),
    sa.column("target_id", sa.String()),
    sa.column("request_id", sa.Uuid()),
    sa.column("from_status", sa.String()),
    sa.column("to_status", sa.String()),
    sa.column("details", sa.JSON()),
)


def _settle_shared_nodes(conn: sa.Connection) -> None:
    now = datetime.now(UTC)
    holding = requests.c.status.in_(HOLDING)
    shared = (
        sa.select(requests.c.network_id, requests.c.node_id)
        .where(holding)
        .group_by(requests.c.network_id, requests.c.node_id)
        .having(sa.func.count() > 1)
    )
    rows = conn.execute(
        sa.select(
            requests.c.id,
            requests.c.asn,
            requests.c.network_id,
            requests.c.node_id,
            requests.c.status,
        )
        .where(holding, sa.tuple_(requests.c.network_id, requests.c.node_id).in_(shared))
        .order_by(requests.c.network_id, requests.c.node_id, requests.c.created_at, requests.c.id)
    ).all()
    owners: dict[tuple[int, str], tuple[Any, int]] = {}  # (network, node) -> (id, ASN)
    networks: set[int] = set()
    for row in rows:
        key = (row.network_id, row.node_id)
        if key not in owners:
            owners[key] = (row.id, row.asn)
            continue
        owner_id, owner_asn = owners[key]
        message = (
            f"node {row.node_id} is also held by the older request {owner_id} of "
            f"AS{owner_asn}; a node belongs to one member per IX network (migration 0005)"
        )
        conn.execute(
            sa.update(requests)
            .where(requests.c.id == row.id)
            .values(
                status="failed",
                updated_at=now,
                last_error_code="node_in_use",
                last_error_message=message,
                last_error_system="ztix",
                lease_owner=None,
                lease_expires_at=None,
                next_attempt_at=None,
            )
        )
        conn.execute(
            sa.insert(audit_events).values(
                occurred_at=now,
                actor="system",
                action="request.node_in_use",
                target_type="request",
                target_id=str(row.id),
                request_id=row.id,
                from_status=row.status,
                to_status="failed",
                details={
                    "code": "node_in_use",
                    "message": message,
                    "holder_request_id": str(owner_id),
                    "holder_asn": owner_asn,
                    "by": "migration 0005",
                },
            )
        )
        networks.add(row.network_id)
    for network_id in sorted(networks):
        _recount(conn, network_id)


def _recount(conn: sa.Connection, network_id: int) -> None:
    counted: dict[str, int] = dict(
        conn.execute(
            sa.select(requests.c.status, sa.func.count())
            .where(requests.c.network_id == network_id)
            .group_by(requests.c.status)
        ).all()
    )
    conn.execute(sa.delete(counters).where(counters.c.network_id == network_id))
    conn.execute(
        sa.insert(counters),
        [
            {"network_id": network_id, "status": s, "count": int(counted.get(s, 0))}
            for s in STATUSES
        ],
    )


def upgrade() -> None:
    _settle_shared_nodes(op.get_bind())
    with op.batch_alter_table("join_requests", schema=None) as batch_op:
        batch_op.create_index(
            "uq_join_requests_node_holder",
            ["network_id", "node_id"],
            unique=True,
            postgresql_where=sa.text(HOLDER_WHERE),
            sqlite_where=sa.text(HOLDER_WHERE),
        )


def downgrade() -> None:
    with op.batch_alter_table("join_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_join_requests_node_holder",
            postgresql_where=sa.text(HOLDER_WHERE),
            sqlite_where=sa.text(HOLDER_WHERE),
        )
