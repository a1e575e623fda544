"""The policy verdict as the member sees it, stored with the verdict

The member's list writes each request's JSON in the database (issue 17, P4); taking the
decision and reasons out of the whole verdict (every check and its evidence) on every read
cost PostgreSQL more than the rest of the page. ``policy_summary`` is that part, as JSON
text, written once when the verdict is made (``domain.policy.member_summary``); this
fills it for the requests that already have a verdict.

Revision ID: 0011_policy_summary
Revises: 0007_member
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011_policy_summary"
down_revision = "0007_member"
branch_labels = None
depends_on = None

BATCH = 1000


def _summary(verdict: dict[str, Any]) -> str:
    # domain.policy.member_summary as of this revision (a migration keeps its own copy).
    shown = {
        "decision": verdict["decision"],
        "reasons": [{"code": r["code"], "message": r["message"]} for r in verdict["reasons"]],
    }
    return json.dumps(shown, separators=(",", ":"), ensure_ascii=False)


def upgrade() -> None:
    with op.batch_alter_table("join_requests") as batch_op:
        batch_op.add_column(sa.Column("policy_summary", sa.Text(), nullable=True))
    requests = sa.table(
        "join_requests",
        sa.column("id", sa.Uuid()),
        sa.column("policy_verdict", sa.JSON()),
        sa.column("policy_summary", sa.Text()),
    )
    bind = op.get_bind()
    last = None
    while True:
        query = sa.select(requests.c.id, requests.c.policy_verdict).order_by(requests.c.id)
        if last is not None:
            query = query.where(requests.c.id > last)
        rows = bind.execute(query.limit(BATCH)).all()
        if not rows:
            break
        last = rows[-1].id
        updates = [
            {"rid": row.id, "summary": _summary(row.policy_verdict)}
            for row in rows
            if row.policy_verdict is not None
        ]
        if updates:
            bind.execute(
                requests.update()
                .where(requests.c.id == sa.bindparam("rid"))
                .values(policy_summary=sa.bindparam("summary")),
                updates,
            )


def downgrade() -> None:
    with op.batch_alter_table("join_requests") as batch_op:
        batch_op.drop_column("policy_summary")
