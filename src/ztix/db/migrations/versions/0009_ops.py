"""Approval with settings: the admin's note at approval

Revision ID: 0007_ops
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_ops"
down_revision = "0007_rsfeat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("join_requests") as batch_op:
        batch_op.add_column(sa.Column("approval_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("join_requests") as batch_op:
        batch_op.drop_column("approval_note")
