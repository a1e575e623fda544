"""PeeringDB's REST API client and the cache built on it (DESIGN §4)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from ztix.config import PeeringDBApiConfig, RouteServerPolicyConfig
from ztix.db.models import PeeringDBNetwork
from ztix.db.session import Database
from ztix.peeringdb import cache
from ztix.peeringdb.api import PeeringDBApi, PeeringDBRateLimited, PeeringDBUnavailable

NETS = {
    213035: {
        "asn": 213035,
        "name": "Example",
        "info_prefixes4": 40,
        "info_prefixes6": None,
        "irr_as_set": "AS-EXAMPLE",
        "info_never_via_route_servers": False,
        "policy_general": "Open",
    },
    3320: {
        "asn": 3320,
        "name": "Big Transit",
        "info_prefixes4": 0,
        "info_prefixes6": 20,
        "irr_as_set": None,
        "info_never_via_route_servers": True,
        "policy_general": "Restrictive",
    },
}


class FakePeeringDB:
    def __init__(self, status: int = 200, retry_after: str | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status
        self.retry_after = retry_after

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 200:
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return httpx.Response(self.status, headers=headers, json={"message": "no"})
        query = parse_qs(urlsplit(str(request.url)).query)
        if "info_never_via_route_servers" in query:
            data = [{"asn": a} for a, n in NETS.items() if n["info_never_via_route_servers"]]
        else:
            asns = [int(a) for a in query["asn__in"][0].split(",")]
            data = [NETS[a] for a in asns if a in NETS]
        return httpx.Response(200, content=json.dumps({"data": data}))


def api(fake: FakePeeringDB, **config: object) -> PeeringDBApi:
    return PeeringDBApi(
        PeeringDBApiConfig(base_url="https://pdb.test/api", **config),  # type: ignore[arg-type]
        transport=httpx.MockTransport(fake),
    )


def test_batches_with_asn_in_and_the_api_key() -> None:
    fake = FakePeeringDB()
    found = api(fake, batch_size=2, api_key="s3cret").fetch([3320, 213035, 99999, 3320])
    assert found[213035] is not None and found[213035].irr_as_set == "AS-EXAMPLE"
    assert found[213035].info_prefixes6 is None  # null stays unknown
    assert found[3320] is not None and found[3320].info_never_via_route_servers
    assert found[99999] is None  # PeeringDB has no net for it
    assert len(fake.requests) == 2  # three distinct ASNs in batches of two
    assert [parse_qs(r.url.query.decode())["asn__in"][0] for r in fake.requests] == [
        "3320,99999",
        "213035",
    ]
    assert all(r.headers["Authorization"] == "Api-Key s3cret" for r in fake.requests)


def test_anonymous_without_a_key() -> None:
    fake = FakePeeringDB()
    api(fake).fetch([213035])
    assert "Authorization" not in fake.requests[0].headers


def test_errors() -> None:
    with pytest.raises(PeeringDBRateLimited) as limited:
        api(FakePeeringDB(429, retry_after="42")).fetch([213035])
    assert limited.value.retry_after == 42
    with pytest.raises(PeeringDBUnavailable):
        api(FakePeeringDB(502)).fetch([213035])


def test_never_via_route_servers_list() -> None:
    assert api(FakePeeringDB()).never_via_route_servers() == [3320]


def test_a_rate_limit_backs_off_the_whole_process() -> None:
    cache.reset_backoff()
    limited = FakePeeringDB(429, retry_after="60")
    with pytest.raises(PeeringDBRateLimited):
        cache.fetch(api(limited), [213035])
    healthy = FakePeeringDB()
    with pytest.raises(PeeringDBRateLimited):  # not asked again while the back-off lasts
        cache.fetch(api(healthy), [213035])
    assert healthy.requests == []
    cache.reset_backoff()
    assert cache.fetch(api(healthy), [213035])[213035] is not None


@pytest.mark.both_databases
def test_cache_ttl_and_store(database: Database) -> None:
    records = api(FakePeeringDB()).fetch([213035, 99999])
    with database.session() as db:
        assert cache.stale_asns(db, [213035, 99999], 3600) == [99999, 213035]
        cache.store(db, records)
    with database.session() as db:
        assert cache.stale_asns(db, [213035, 99999, 3320], 3600) == [3320]
        row = db.get(PeeringDBNetwork, 99999)
        assert row is not None and row.found is False
        assert cache.stale_asns(db, [213035], 0) == [213035]


def test_never_via_list_is_stored_without_hiding_members(database: Database) -> None:
    records = api(FakePeeringDB()).fetch([213035])
    with database.session() as db:
        cache.store(db, records)
        cache.store_never_via_route_servers(db, [3320, 213035])
    with database.session() as db:
        assert cache.never_via_route_servers(db) == [3320, 213035]
        placeholder = db.get(PeeringDBNetwork, 3320)
        assert placeholder is not None
        # Only a placeholder: still stale, so 3320 is fetched in full if it ever joins.
        assert cache.stale_asns(db, [3320], 3600) == [3320]
        assert db.scalars(select(PeeringDBNetwork.asn)).all()


@pytest.mark.parametrize(
    ("prefixes4", "prefixes6", "override", "expected"),
    [
        (40, 10, (None, None), (50, 13, "peeringdb")),
        (None, None, (None, None), (100, 50, "default (no peeringdb data)")),
        (40, None, (None, None), (50, 50, "peeringdb/default (no peeringdb data)")),
        (40, 10, (7, 3), (7, 3, "override")),
        (40, 10, (7, None), (7, 13, "override/peeringdb")),
    ],
)
def test_max_prefix_order(
    prefixes4: int | None,
    prefixes6: int | None,
    override: tuple[int | None, int | None],
    expected: tuple[int, int, str],
) -> None:
    record = PeeringDBNetwork(asn=1, found=True, info_prefixes4=prefixes4, info_prefixes6=prefixes6)
    got = cache.max_prefix(
        record, RouteServerPolicyConfig(), override_ipv4=override[0], override_ipv6=override[1]
    )
    assert (got.ipv4, got.ipv6, got.source) == expected


def test_max_prefix_when_peeringdb_is_down() -> None:
    got = cache.max_prefix(None, RouteServerPolicyConfig(), peeringdb_failed=True)
    assert (got.ipv4, got.ipv6, got.source) == (100, 50, "default (peeringdb unavailable)")


@pytest.mark.both_databases
def test_reconciler_refresh_fetches_the_never_via_list_once_per_ttl(database: Database) -> None:
    from tests.support.app import make_settings
    from ztix.workflow import routeservers as sync

    sync._never_via_fetched = -1e18
    fake = FakePeeringDB()
    ctx = sync.RouteServerContext(
        make_settings(database.url), database, "test", peeringdb=api(fake)
    )
    assert sync.refresh_peeringdb(ctx) is False
    with database.session() as db:
        assert cache.never_via_route_servers(db) == [3320]
    sync.refresh_peeringdb(ctx)
    assert len(fake.requests) == 1  # not again within the TTL
    down = sync.RouteServerContext(
        make_settings(database.url), database, "test", peeringdb=api(FakePeeringDB(503))
    )
    sync._never_via_fetched = -1e18
    assert sync.refresh_peeringdb(down) is True
