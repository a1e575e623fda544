"""Building a route server's desired configuration reads the members in a fixed number of
SQL statements, however many there are (issue 17, P1: columns left out of the members'
``load_only`` were one SELECT per member and pass)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select

from tests.api.test_rsfeat_limits_password import ROUTESERVERS
from tests.support.app import NWID, AppFactory
from ztix.config import Settings
from ztix.db.models import AddressAssignment, IxNetwork, JoinRequest
from ztix.db.session import Database
from ztix.workflow import routeserver_desired as desired_state


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)


def add_members(database: Database, first: int, count: int) -> None:
    with database.session() as db:
        network = db.scalar(select(IxNetwork).where(IxNetwork.zt_network_id == NWID))
        assert network is not None
        for i in range(first, first + count):
            request = JoinRequest(
                asn=64512 + i,
                network_id=network.id,
                node_id=f"{0x1000000000 + i:010x}",
                status="active",
                zt_authorized=True,
                receive_limit_ipv4_override=1000 + i,
            )
            db.add(request)
            db.flush()
            db.add(
                AddressAssignment(
                    network_id=network.id,
                    request_id=request.id,
                    family=4,
                    address=f"192.0.2.{10 + i}",
                    asn=64512 + i,
                )
            )


def statements_for(database: Database, settings: Settings) -> tuple[int, int]:
    """(peers built, SQL statements it took)."""
    with database.session() as db, counted(database) as statements:
        desired, _ = desired_state.build(db, settings, settings.routeservers.servers[0])
        db.rollback()
    return len(desired.peers), len(statements)


def test_the_members_are_read_in_a_fixed_number_of_statements(
    make_client: AppFactory, database: Database
) -> None:
    client: TestClient = make_client(routeservers=ROUTESERVERS)
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    add_members(database, 0, 2)
    peers, few = statements_for(database, settings)
    assert peers == 2
    add_members(database, 2, 8)
    peers, many = statements_for(database, settings)
    assert peers == 10
    assert many == few
