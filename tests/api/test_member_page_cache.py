"""A member's list pages kept by the HTTP worker (``api/page_cache.py``): on PostgreSQL a
page is answered again only while the digest of its rows' versions is unchanged, so every
kind of change, made by the API or straight in the database (ORM or Core statements, as
the job workers do), shows on the very next read. On SQLite nothing is kept."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import delete, select, update

from tests.api.test_perf_member_list import make_requests
from tests.support.app import NWID, NWID_B, Session
from ztix.api.page_cache import PageCache
from ztix.auth import sessions
from ztix.auth.sessions import CompanionValue
from ztix.db.base import utcnow
from ztix.db.models import AddressAssignment, IxNetwork, JoinRequest, UserAsn, UserSession
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus
from ztix.workflow import listing, users

PAGE = "/api/v1/requests"

pytestmark = pytest.mark.both_databases


def _cache(member: Session) -> PageCache:
    cache: PageCache = member.client.app.state.page_cache  # type: ignore[attr-defined]
    return cache


def _read(member: Session, **params: Any) -> Any:
    """The page as the member gets it, and as it is when read afresh: they must agree."""
    sent = member.get(PAGE, params=params)
    assert sent.status_code == 200, sent.text
    cache = _cache(member)
    kept, cache.max_bytes = cache.max_bytes, 0  # nothing kept: read from the database
    try:
        fresh = member.get(PAGE, params=params)
    finally:
        cache.max_bytes = kept
    assert sent.content == fresh.content
    return sent.json()


def _requests(member: Session, count: int) -> list[str]:
    return [r["id"] for r in make_requests(member, count)]


def _change(database: Database, do: Callable[[Any], object]) -> None:
    with database.session() as db:
        do(db)


def test_every_change_shows_on_the_next_read(
    member: Session, database: Database, migrated_url: str
) -> None:
    made = _requests(member, 4)
    first = uuid.UUID(made[0])
    newest = uuid.UUID(made[-1])
    params = {"limit": 3}
    before = _read(member, **params)
    assert _read(member, **params) == before  # unchanged: the same page
    assert len(_cache(member)) == (1 if migrated_url.startswith("postgresql") else 0)

    def seen(do: Callable[[Any], object], check: Callable[[Any], bool]) -> None:
        _change(database, do)
        page = _read(member, **params)
        assert check(page), page

    def item(page: Any, request_id: uuid.UUID) -> Any:
        return next(i for i in page["items"] if i["id"] == str(request_id))

    # An ORM change of a listed request.
    seen(
        lambda db: setattr(db.get(JoinRequest, newest), "notes", "edited by the ORM"),
        lambda page: item(page, newest)["notes"] == "edited by the ORM",
    )
    # A Core UPDATE, as provisioning writes.
    seen(
        lambda db: db.execute(
            update(JoinRequest)
            .where(JoinRequest.id == newest)
            .values(zt_synced_at=utcnow(), zt_authorized=True, zt_provider="local")
        ),
        lambda page: item(page, newest)["membership"]["authorized"] is True,
    )

    # An address given, then taken away.
    def give(request_id: uuid.UUID, address: str) -> Callable[[Any], None]:
        def do(db: Any) -> None:
            request = db.get(JoinRequest, request_id)
            db.add(
                AddressAssignment(
                    network_id=request.network_id,
                    request_id=request_id,
                    family=4,
                    address=address,
                    asn=request.asn,
                )
            )

        return do

    seen(
        give(newest, "10.0.0.9"),
        lambda page: item(page, newest)["membership"]["ipv4"] == "10.0.0.9",
    )
    seen(
        lambda db: db.execute(update(AddressAssignment).values(address="10.0.0.10")),
        lambda page: item(page, newest)["membership"]["ipv4"] == "10.0.0.10",
    )
    seen(
        lambda db: db.execute(delete(AddressAssignment)),
        lambda page: item(page, newest)["membership"]["ipv4"] is None,
    )
    _change(database, give(first, "10.0.0.11"))  # deleted below, its address with it
    # A network renamed: every item of it shows the new name.
    seen(
        lambda db: db.execute(
            update(IxNetwork).where(IxNetwork.zt_network_id == NWID_B).values(name="Renamed")
        ),
        lambda page: item(page, newest)["network_name"] == "Renamed",
    )
    # A request the page does not show (past its limit) leaves it: only the total moves.
    seen(
        lambda db: db.execute(delete(JoinRequest).where(JoinRequest.id == first)),
        lambda page: page["total"] == 3 and len(page["items"]) == 3,
    )
    # A new request through the API is on top at once.
    added = _requests(member, 1)[0]
    page = _read(member, **params)
    assert page["items"][0]["id"] == added and page["total"] == 4


def test_a_status_filter_sees_requests_leave_and_enter_it(
    member: Session, database: Database
) -> None:
    made = _requests(member, 3)
    assert _read(member, status="pending")["total"] == 3
    assert member.post(f"{PAGE}/{made[1]}/cancel").status_code == 200
    pending = _read(member, status="pending")
    assert pending["total"] == 2
    assert made[1] not in [i["id"] for i in pending["items"]]
    assert [i["id"] for i in _read(member, status="cancelled")["items"]] == [made[1]]


def test_members_with_other_asns_never_share_a_page(
    member: Session, login_as: Callable[..., Session]
) -> None:
    _requests(member, 2)
    bob = login_as("bob", asns=(3320,))
    assert _read(member)["total"] == 2
    assert _read(bob)["total"] == 0
    body = {"asn": 3320, "zt_network_id": NWID, "node_id": "fedcba9876"}
    assert bob.post(PAGE, json=body).status_code == 201
    assert _read(bob)["total"] == 1
    assert _read(member)["total"] == 2


def test_readers_racing_a_writer_never_get_an_older_page(
    member: Session, database: Database
) -> None:
    """Several clients read the page while a writer keeps changing a request: each answer is
    at least as new as the change committed before it was asked for (the digest is read
    before the page, so a kept page is never older than its digest)."""
    (made,) = _requests(member, 1)
    request_id = uuid.UUID(made)
    _change(
        database,
        lambda db: db.execute(
            update(JoinRequest).where(JoinRequest.id == request_id).values(notes="v0000")
        ),
    )
    writes = 30
    done = threading.Event()
    failures: list[str] = []

    def committed() -> str:
        with database.read_session() as db:
            request = db.get(JoinRequest, request_id)
            assert request is not None
            return str(request.notes)

    def write() -> None:
        try:
            for i in range(1, writes + 1):
                _change(
                    database,
                    lambda db, i=i: db.execute(
                        update(JoinRequest)
                        .where(JoinRequest.id == request_id)
                        .values(notes=f"v{i:04d}")
                    ),
                )
                time.sleep(0.04)  # readers ask again while this change is the newest
        finally:
            done.set()

    def read() -> None:
        try:
            while not done.is_set():
                before = committed()
                seen = member.get(PAGE).json()["items"][0]["notes"]
                if seen < before:
                    failures.append(f"asked after {before!r}, got {seen!r}")
        except Exception as exc:  # a reader that fails must fail the test
            failures.append(repr(exc))

    readers = [threading.Thread(target=read) for _ in range(3)]
    writer = threading.Thread(target=write)
    for thread in (*readers, writer):
        thread.start()
    for thread in (*readers, writer):
        thread.join(timeout=120)
    assert failures == []
    assert member.get(PAGE).json()["items"][0]["notes"] == f"v{writes:04d}"


def test_an_asn_gained_or_lost_shows_on_the_next_read(
    member: Session, login_as: Callable[..., Session], database: Database
) -> None:
    """The digest the session look-up reads is for the ASNs it reads in the same statement:
    an ASN the member gains or loses between two reads changes the page at once."""
    bob = login_as("bob", asns=(3320,))
    body = {"asn": 3320, "zt_network_id": NWID, "node_id": "fedcba9876"}
    assert bob.post(PAGE, json=body).status_code == 201
    _requests(member, 2)
    assert _read(member)["total"] == 2
    with database.session() as db:
        alice = users.get_user_by_username(db, "alice")
        assert alice is not None
        db.add(UserAsn(user_id=alice.id, asn=3320, source="local"))
    page = _read(member)
    assert page["total"] == 3 and 3320 in [i["asn"] for i in page["items"]]
    _change(database, lambda db: db.execute(delete(UserAsn).where(UserAsn.asn == 3320)))
    assert _read(member)["total"] == 2


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("limit=0", 422, "validation_failed"),
        ("limit=abc", 422, "validation_failed"),
        ("limit=201", 422, "validation_failed"),
        ("offset=-1", 422, "validation_failed"),
        ("status=bogus", 422, "validation_failed"),
        ("limit=1&limit=2", 200, None),
        ("offset=2147483647&limit=200", 200, None),
        ("status=pending&status=cancelled&limit=007", 200, None),
    ],
)
def test_a_query_the_look_up_cannot_read_ahead_is_still_answered_right(
    member: Session, query: str, status: int, code: str | None
) -> None:
    """The look-up reads the digest for the query as it reads it; the handler uses that only
    for the statuses and window it validated: a query refused, repeated or at its bounds is
    answered as it would be without the look-up's help (422 with its code, or the page)."""
    made = _requests(member, 3)
    assert member.post(f"{PAGE}/{made[0]}/cancel").status_code == 200
    for _ in range(2):  # written, then kept
        response = member.get(f"{PAGE}?{query}")
        assert response.status_code == status, response.text
        if code is not None:
            assert response.json()["code"] == code
    if status == 200:
        assert response.json() == _read(member, **parse_qs(query))


@pytest.mark.parametrize("migrated_url", ["postgresql"], indirect=True)  # no digest on SQLite
def test_the_look_up_reads_the_digest_once_whatever_the_number_of_asns(
    member: Session, database: Database
) -> None:
    """The digest rides on the session look-up's statement as an uncorrelated subquery:
    PostgreSQL runs it once per look-up (an InitPlan), not once per ASN row of the join."""
    companion = listing.member_version_companion(database, (), limit=50, offset=0)
    assert companion is not None
    with database.engine.connect() as conn:
        token = conn.scalar(select(UserSession.token_hash).limit(1))
        sql = sessions._lookup_with(companion).compile(dialect=database.engine.dialect)
        plan = "\n".join(
            conn.exec_driver_sql(
                f"EXPLAIN (ANALYZE, COSTS OFF) {sql}",
                {**companion.params, "token_hash": token},
            ).scalars()
        )
    assert "InitPlan" in plan and "SubPlan" not in plan, plan
    statement, params = sessions._lookup_with(companion), {**companion.params, "token_hash": token}
    rows = database.fetch(statement, params)
    assert len(rows) == 2 and rows[0].companion == rows[1].companion  # alice's two ASNs


def test_a_digest_read_for_another_page_is_not_taken(member: Session, database: Database) -> None:
    """The handler takes the look-up's digest only when it was read for the page's statuses
    and window (``known_member_version``); for any other page it reads the digest itself."""
    _requests(member, 2)
    f = listing.RequestFilter(asns_visible=frozenset({213035, 13335}))
    companion = listing.member_version_companion(database, (), limit=50, offset=0)
    if database.engine.dialect.name != "postgresql":
        assert companion is None  # no digest on SQLite: every page is read
        assert listing.member_version(database, f, limit=50, offset=0) is None
        return
    assert companion is not None
    known = CompanionValue(companion, "from the look-up")

    def taken(f: listing.RequestFilter, limit: int, offset: int) -> str | None:
        return listing.known_member_version(f, limit=limit, offset=offset, known=known)

    assert taken(f, 50, 0) == "from the look-up"
    assert taken(f, 40, 10) == "from the look-up"  # the same window: offset + limit rows
    assert taken(f, 10, 0) is None
    assert taken(replace(f, statuses=(RequestStatus.PENDING,)), 50, 0) is None
    assert taken(replace(f, asns_visible=frozenset()), 50, 0) is None
    assert listing.known_member_version(f, limit=50, offset=0, known=None) is None
    assert listing.member_version(database, f, limit=50, offset=0) not in (None, known.value)
