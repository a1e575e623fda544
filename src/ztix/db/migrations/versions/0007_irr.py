"""IRR data per member ASN: last good AS-SET expansion, last attempt, admin override

Revision ID: 0007_irr
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ztix.db.base import UTCDateTime

revision = "0007_irr"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "irr_data",
        sa.Column("asn", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("as_set_override", sa.String(length=255), nullable=True),
        sa.Column("as_set", sa.String(length=1024), nullable=True),
        sa.Column("as_set_choice", sa.String(length=16), nullable=True),
        sa.Column("prefixes_ipv4", sa.JSON(), nullable=True),
        sa.Column("prefixes_ipv6", sa.JSON(), nullable=True),
        sa.Column("origins", sa.JSON(), nullable=True),
        sa.Column("data_hash", sa.String(length=64), nullable=True),
        sa.Column("serials", sa.String(length=1024), nullable=True),
        sa.Column("fetched_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("changed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error_code", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures_total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("asn", name=op.f("pk_irr_data")),
    )


def downgrade() -> None:
    op.drop_table("irr_data")
