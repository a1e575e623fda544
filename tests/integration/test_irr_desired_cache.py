"""The desired state's IRR data from the database through the process's IRR cache (issue
17, P3), on SQLite and PostgreSQL: an unchanged row is neither read in full nor parsed
again (the same objects), a row the IRR refresh changed is, a member that left is dropped."""

from __future__ import annotations

import ipaddress as ip

import pytest
from sqlalchemy import event

from ztix.db.models import IrrData
from ztix.db.session import Database
from ztix.irr.bgpq4 import Expansion
from ztix.routeserver.model import Peer
from ztix.workflow.irr import data_hash
from ztix.workflow.routeserver_desired import irr_cache, irr_networks, peer_with_irr, with_irr

SCOPE = "test-irr-desired-cache"


def _store(database: Database, asn: int, v4: list[str], origins: list[int]) -> None:
    """What workflow.irr stores for a good expansion: the lists and their hash."""
    got = Expansion(tuple(map(ip.IPv4Network, v4)), (), tuple(origins))
    with database.session() as db:
        db.merge(
            IrrData(
                asn=asn,
                prefixes_ipv4=v4,
                prefixes_ipv6=[],
                origins=origins,
                data_hash=data_hash(got),
                failures_total=0,
            )
        )


def _statements(database: Database) -> list[str]:
    seen: list[str] = []
    event.listen(
        database.engine, "before_cursor_execute", lambda *a: seen.append(str(a[2])), named=False
    )
    return seen


@pytest.mark.both_databases
def test_unchanged_rows_are_reused_changed_ones_parsed(database: Database) -> None:
    irr_cache.drop(SCOPE)
    _store(database, 64510, ["192.0.2.0/24", "198.51.100.0/24"], [64510])
    _store(database, 64511, ["203.0.113.0/24"], [64511, 64512])
    with database.read_session() as db:
        first = irr_networks(db, SCOPE, {64510, 64511, 64599})
    assert 64599 not in first  # no row: "not checked"
    seen = _statements(database)
    with database.read_session() as db:
        again = irr_networks(db, SCOPE, {64510, 64511, 64599})
    assert again[64510] is first[64510] and again[64511] is first[64511]
    assert not any("prefixes_ipv4" in s for s in seen)  # the hashes only
    peer = Peer("r", 64511, "abcdef0123", None, None, 10, 10)
    with database.read_session() as db:
        assert with_irr(peer, again[64511]) == peer_with_irr(peer, db.get(IrrData, 64511))

    _store(database, 64511, ["203.0.113.0/25"], [64511, 64512])
    with database.read_session() as db:
        changed = irr_networks(db, SCOPE, {64510, 64511})
    assert changed[64510] is first[64510]
    new = changed[64511]
    assert new is not None and new is not first[64511]
    assert new.prefixes_ipv4 == (ip.IPv4Network("203.0.113.0/25"),)
    assert set(irr_cache._scopes[SCOPE]) == {64510, 64511}

    with database.read_session() as db:  # 64510 left
        irr_networks(db, SCOPE, {64511})
    assert set(irr_cache._scopes[SCOPE]) == {64511}
    irr_cache.drop(SCOPE)
