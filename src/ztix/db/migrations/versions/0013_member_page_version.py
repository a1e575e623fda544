"""The member page's digest as a function, planned once per connection (issue 17, P4)

A member's list page is answered from the HTTP worker's cache while the digest of the row
versions it was written from is unchanged (``workflow.listing.member_version``); the digest
is read on every request. Sent as a statement, PostgreSQL planned it anew each time: the
custom plans it makes for the ASNs at hand look cheaper than a generic plan, so the prepared
statement never settled on one (``pg_prepared_statements``: 0 generic plans, one custom plan
per execution), and the planning cost about as much as the execution. Inside this function
``plan_cache_mode = force_generic_plan`` settles it: the plan is made once per connection.

The statement is the one migration 0012 was written for: every request in the page's window
and before it (the member's filter, newest first, up to offset + limit: the index range the
page reads) by its key and its row version (``xmin``; an address change updates its request,
migration 0012), the filter's total, and the networks' row versions. A later change to the
digest replaces the function in a migration of its own. SQLite keeps no row versions and no
cache: nothing to do there.

Revision ID: 0013_member_page_version
Revises: 0012_address_touches_request
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0013_member_page_version"
down_revision = "0012_address_touches_request"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
CREATE FUNCTION ztix_member_page_version(asns bigint[], statuses text[], page_window integer)
RETURNS text LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN (
    SELECT md5(concat(
      (SELECT count(*) FROM join_requests r
        WHERE r.asn = ANY(asns) AND (statuses IS NULL OR r.status = ANY(statuses))), ';',
      (SELECT string_agg(concat(n.id, '.', n.xmin), ',' ORDER BY n.id) FROM ix_networks n), ';',
      string_agg(concat(w.id, '.', w.xmin), ',')))
    FROM (SELECT r.id, r.xmin FROM join_requests r
          WHERE r.asn = ANY(asns) AND (statuses IS NULL OR r.status = ANY(statuses))
          ORDER BY r.created_at DESC, r.id DESC LIMIT page_window) AS w);
END
$$"""
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION ztix_member_page_version(bigint[], text[], integer)")
