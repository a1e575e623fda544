"""Migrations go up and down cleanly on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from tests.support.app import NETWORKS, PG_ADMIN_DSN, make_settings
from tests.support.zt_fixtures import QueueDispatcher
from ztix.db import migrate
from ztix.db.base import Base, UTCDateTime
from ztix.db.models import AddressAssignment, AuditEvent, JoinRequest, RequestStatusCount
from ztix.db.session import Database, make_engine
from ztix.domain.requests import RequestStatus
from ztix.jobs.tasks import JobContext, process_request, reconcile
from ztix.workflow import dispatch
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.emulator import ControllerEmulator
from ztix.zerotier.provider import MemberSpec


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.sqlite3'}"
        return
    name = f"ztix_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_url: str) -> None:
    assert migrate.current(empty_url) is None
    migrate.upgrade(empty_url)
    assert migrate.current(empty_url) == migrate.head()
    assert tables(empty_url) == set(Base.metadata.tables)
    migrate.downgrade(empty_url, "base")
    assert migrate.current(empty_url) is None
    assert tables(empty_url) == set()
    migrate.upgrade(empty_url)
    assert tables(empty_url) == set(Base.metadata.tables)


def test_schema_matches_models(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


# -- 0005: a node belongs to one member per IX network ------------------------------------------

T0 = datetime(2026, 11, 1, tzinfo=UTC)
_networks = sa.table(
    "ix_networks",
    *(sa.column(c) for c in ("id", "zt_network_id", "name", "description")),
    *(sa.column(c) for c in ("ipv4_prefix", "ipv6_prefix", "is_active")),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
_requests = sa.table(
    "join_requests",
    sa.column("id", sa.Uuid()),
    *(sa.column(c) for c in ("asn", "network_id", "node_id", "status", "notes", "attempts")),
    sa.column("approved_by_policy", sa.Boolean()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
_counters = sa.table(
    "request_status_counts",
    sa.column("network_id"),
    sa.column("status"),
    sa.column("count", sa.BigInteger()),
)


def _seed_0004(
    url: str, rows: list[tuple[str, int, int, str, str]], controller: str = "8056c2e21c"
) -> dict[str, uuid.UUID]:
    """Two networks with their counters, and requests named by their first field:
    (name, ASN, network, node, status), created in list order."""
    engine = make_engine(url)
    ids = {name: uuid.uuid4() for name, *_ in rows}
    with engine.begin() as conn:
        for net in (1, 2):
            conn.execute(
                sa.insert(_networks).values(
                    id=net,
                    zt_network_id=f"{controller}00000{net}",
                    name=f"net {net}",
                    description="",
                    ipv4_prefix=f"192.0.{net}.0/24",
                    ipv6_prefix=f"2001:db8:{net}::/64",
                    is_active=True,
                    created_at=T0,
                    updated_at=T0,
                )
            )
        counts: Counter[tuple[int, str]] = Counter()
        for i, (name, asn, net, node, status) in enumerate(rows):
            at = T0 + timedelta(minutes=i)
            conn.execute(
                sa.insert(_requests).values(
                    id=ids[name],
                    asn=asn,
                    network_id=net,
                    node_id=node,
                    status=status,
                    notes="",
                    attempts=0,
                    approved_by_policy=False,
                    created_at=at,
                    updated_at=at,
                )
            )
            counts[net, status] += 1
        conn.execute(
            sa.insert(_counters),
            [
                {"network_id": net, "status": s.value, "count": counts[net, s.value]}
                for net in (1, 2)
                for s in RequestStatus
            ],
        )
    engine.dispose()
    return ids


def test_0005_settles_nodes_held_by_two_asns(empty_url: str) -> None:
    migrate.upgrade(empty_url, "0004")
    ids = _seed_0004(
        empty_url,
        [
            ("a", 213035, 1, "abcdef0001", "active"),  # the oldest owner keeps the node
            ("b", 213036, 1, "abcdef0001", "active"),
            ("c", 64500, 1, "abcdef0001", "pending"),
            ("closed", 213036, 1, "abcdef0001", "removed"),
            ("other_net", 213036, 2, "abcdef0001", "active"),  # another network: its own
            ("left", 13335, 1, "abcdef0002", "deprovisioning"),
            ("after_left", 3320, 1, "abcdef0002", "active"),
            ("gave_up", 13335, 1, "abcdef0003", "failed"),  # failed holds no node
            ("took_over", 3320, 1, "abcdef0003", "provisioning"),
            ("alone", 3320, 1, "abcdef0004", "approved"),
        ],
    )
    migrate.upgrade(empty_url)
    assert migrate.current(empty_url) == migrate.head()

    database = Database(empty_url)
    try:
        with database.session() as db:
            got = {name: db.get(JoinRequest, request_id) for name, request_id in ids.items()}
            status = {name: r.status for name, r in got.items() if r is not None}
            assert status == {
                "a": "active",
                "b": "failed",
                "c": "failed",
                "closed": "removed",
                "other_net": "active",
                "left": "deprovisioning",
                "after_left": "failed",
                "gave_up": "failed",
                "took_over": "provisioning",
                "alone": "approved",
            }
            moved = {"b": "a", "c": "a", "after_left": "left"}
            for loser, owner in moved.items():
                request = got[loser]
                assert request is not None
                assert request.last_error_code == "node_in_use"
                assert request.last_error_system == "ztix"
                assert str(ids[owner]) in (request.last_error_message or "")
            assert got["gave_up"] is not None and got["gave_up"].last_error_code is None
            events = db.scalars(
                select(AuditEvent).where(AuditEvent.action == "request.node_in_use")
            ).all()
            assert {e.request_id: (e.from_status, e.to_status) for e in events} == {
                ids["b"]: ("active", "failed"),
                ids["c"]: ("pending", "failed"),
                ids["after_left"]: ("active", "failed"),
            }
            for event in events:
                assert event.actor == "system"
                assert event.details["code"] == "node_in_use"
                assert event.details["by"] == "migration 0005"
            assert {e.details["holder_request_id"] for e in events} == {
                str(ids["a"]),
                str(ids["left"]),
            }
            # The counters agree with the rows again.
            for network_id in (1, 2):
                counted = dict(
                    db.execute(
                        select(JoinRequest.status, func.count())
                        .where(JoinRequest.network_id == network_id)
                        .group_by(JoinRequest.status)
                    ).all()
                )
                stored = dict(
                    db.execute(
                        select(RequestStatusCount.status, RequestStatusCount.count).where(
                            RequestStatusCount.network_id == network_id
                        )
                    ).all()
                )
                assert stored == {s.value: counted.get(s.value, 0) for s in RequestStatus}
        # The index now holds: a second holder of a node is refused by the database.
        with pytest.raises(IntegrityError), database.session() as db:
            db.add(JoinRequest(asn=64501, network_id=1, node_id="abcdef0004", status="pending"))
            db.flush()
    finally:
        database.dispose()

    # Down and up again: the settled data passes the index as it is.
    migrate.downgrade(empty_url, "0004")
    migrate.upgrade(empty_url)
    assert migrate.current(empty_url) == migrate.head()


def test_0005_on_a_database_without_shared_nodes_changes_nothing(empty_url: str) -> None:
    migrate.upgrade(empty_url, "0004")
    _seed_0004(empty_url, [("a", 213035, 1, "abcdef0001", "active")])
    migrate.upgrade(empty_url)
    database = Database(empty_url)
    try:
        with database.session() as db:
            assert db.scalar(select(func.count()).select_from(AuditEvent)) == 0
            assert db.scalar(select(JoinRequest.status)) == "active"
    finally:
        database.dispose()


def test_0005_the_later_request_can_no_longer_deauthorize_the_owner(
    empty_url: str, emulator: ControllerEmulator
) -> None:
    """The bug in the field: A is active on a node; B got the same node and left, and B's
    leave is still queued. After the upgrade B is failed and no job or reconcile touches
    A's member."""
    node, nwid = "abcdef0001", f"{emulator.address}000001"
    migrate.upgrade(empty_url, "0004")
    ids = _seed_0004(
        empty_url,
        [("a", 213035, 1, node, "active"), ("b", 213036, 1, node, "deprovisioning")],
        controller=emulator.address,
    )
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(AddressAssignment.__table__).values(
                network_id=1, request_id=ids["a"], family=4, address="192.0.1.1", asn=213035
            )
        )
    engine.dispose()
    settings = make_settings(
        empty_url,
        networks=[{**NETWORKS[0], "zt_network_id": nwid, "ipv4_prefix": "192.0.1.0/24"}],
        zerotier={"controller": {"url": emulator.url, "token": emulator.token}},
    )
    provider = ControllerProvider(ControllerSettings(url=emulator.url, token=emulator.token))
    provider.set_network(nwid, {"name": "net 1", "private": True})
    provider.ensure_member(MemberSpec(nwid, node, True, ("192.0.1.1",), "AS213035"))

    migrate.upgrade(empty_url)
    database = Database(empty_url)
    dispatcher = QueueDispatcher()
    ctx = JobContext(settings, database, provider, dispatcher, controller_ready=True)
    dispatch.install(database.sessionmaker, dispatcher)
    try:
        reconcile(ctx)
        for request_id in [*dispatcher.queue, ids["b"]]:
            process_request(ctx, request_id)
        with database.session() as db:
            b = db.get(JoinRequest, ids["b"])
            assert b is not None and b.status == "failed"
    finally:
        provider.close()
        database.dispose()
    member = emulator.member(nwid, node)
    assert member is not None and member["authorized"] is True
    assert member["ipAssignments"] == ["192.0.1.1"]
