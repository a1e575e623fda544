"""Fixtures for the eligibility policy: PeeringDB-held ASNs, the PeeringDB cache, and a
small PeeringDB REST server (``GET /api/net?asn__in=…``) on a loopback port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.app import Session
from tests.support.policy import (
    PeeringDBRest,
    grant_peeringdb,
)
from ztix.db.session import Database
from ztix.peeringdb import cache as pdb_cache


@pytest.fixture
def peeringdb_member(
    login_as: Callable[..., Session], database: Database
) -> Callable[..., Session]:
    """Log in a user holding ASNs through PeeringDB: ``peeringdb_member("ada", {213035: 15})``."""

    def factory(username: str, asns: dict[int, int], **kw: Any) -> Session:
        session = login_as(username, **kw)
        for asn, perms in asns.items():
            grant_peeringdb(database, username, asn, perms)
        return session

    return factory


@pytest.fixture
def peeringdb_rest() -> Iterator[PeeringDBRest]:
    pdb_cache.reset_backoff()
    with PeeringDBRest() as server:
        yield server
    pdb_cache.reset_backoff()
