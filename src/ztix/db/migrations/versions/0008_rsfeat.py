"""route-server features: drain state, receive limits, BGP session passwords

Revision ID: 0007_rsfeat
Revises: 0006
Create Date: 2026-12-06

``route_server_states`` records whether a server is drained (GRACEFUL_SHUTDOWN on every
export), since when and by whom. ``join_requests`` gets the admin's receive-limit overrides
and the member's encrypted BGP password; ``route_server_peers`` the receive limits in force.
All columns are new and nullable (or defaulted), so existing rows need no backfill.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ztix.db.base import UTCDateTime

revision = "0007_rsfeat"
down_revision = "0007_irr"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("route_server_states", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("drained", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("drained_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("drained_by", sa.String(length=200), nullable=True))
    with op.batch_alter_table("join_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receive_limit_ipv4_override", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("receive_limit_ipv6_override", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("bgp_password_encrypted", sa.Text(), nullable=True))
    with op.batch_alter_table("route_server_peers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receive_limit_ipv4", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("receive_limit_ipv6", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("route_server_peers", schema=None) as batch_op:
        batch_op.drop_column("receive_limit_ipv6")
        batch_op.drop_column("receive_limit_ipv4")
    with op.batch_alter_table("join_requests", schema=None) as batch_op:
        batch_op.drop_column("bgp_password_encrypted")
        batch_op.drop_column("receive_limit_ipv6_override")
        batch_op.drop_column("receive_limit_ipv4_override")
    with op.batch_alter_table("route_server_states", schema=None) as batch_op:
        batch_op.drop_column("drained_by")
        batch_op.drop_column("drained_at")
        batch_op.drop_column("drained")
