"""PeeringDB grants follow PeeringDB: stored tokens, re-check state, lost-grant flag

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ztix.db.base import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

GRANT_LOST = sa.text("grant_lost_at IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "peeringdb_tokens",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("access_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_peeringdb_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_peeringdb_tokens")),
    )
    with op.batch_alter_table("peeringdb_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_peeringdb_tokens_last_attempt_at"), ["last_attempt_at"], unique=False
        )

    with op.batch_alter_table("join_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grant_lost_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_join_requests_grant_lost",
            ["grant_lost_at"],
            unique=False,
            postgresql_where=GRANT_LOST,
            sqlite_where=GRANT_LOST,
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("peeringdb_checked_at", UTCDateTime(timezone=True), nullable=True)
        )
    # PeeringDB users logged in before this revision: their last login was the last check,
    # so they keep working until the maximum age and then log in again (no token is stored).
    op.execute(
        "UPDATE users SET peeringdb_checked_at = last_login_at WHERE peeringdb_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("peeringdb_checked_at")

    with op.batch_alter_table("join_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_join_requests_grant_lost", postgresql_where=GRANT_LOST, sqlite_where=GRANT_LOST
        )
        batch_op.drop_column("grant_lost_at")

    with op.batch_alter_table("peeringdb_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_peeringdb_tokens_last_attempt_at"))

    op.drop_table("peeringdb_tokens")
