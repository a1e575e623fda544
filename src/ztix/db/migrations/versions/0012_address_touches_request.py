"""On PostgreSQL, a change to a request's addresses writes a new version of the request row

A member's list page is answered from the HTTP worker's cache while the row versions
(``xmin``) of what it shows are unchanged (``workflow.listing.member_version``, issue 17,
P4). With this trigger, the request rows' versions cover their addresses too, so the digest
need not look up two addresses per request (a third of its cost). Every insert, update or
delete of an address updates its request's row (``attempts = attempts``: no value changes,
a new row version is written). The writers of addresses (provisioning's claim and release)
hold the request row already, so the trigger takes no new lock. SQLite keeps no row
versions and no cache: nothing to do there.

Revision ID: 0012_address_touches_request
Revises: 0011_policy_summary
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0012_address_touches_request"
down_revision = "0011_policy_summary"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
CREATE FUNCTION ztix_address_touches_request() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE join_requests SET attempts = attempts WHERE id = OLD.request_id;
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.request_id <> OLD.request_id) THEN
    UPDATE join_requests SET attempts = attempts WHERE id = NEW.request_id;
  END IF;
  RETURN NULL;
END
$$"""
    )
    op.execute(
        "CREATE TRIGGER address_touches_request AFTER INSERT OR UPDATE OR DELETE "
        "ON address_assignments FOR EACH ROW EXECUTE FUNCTION ztix_address_touches_request()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER address_touches_request ON address_assignments")
    op.execute("DROP FUNCTION ztix_address_touches_request()")
