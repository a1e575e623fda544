"""Authentication as one Core select (issue 17, P4): a cookie session or an API token is
checked by one statement that reads the session (or token), its user and the user's ASNs,
and the member's page is that statement and the page's: no ORM load of the user. Routes
that need the ``User`` row still get it, narrowed by a token as before."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, update

from tests.api.test_api_tokens import bearer, join, make_token
from tests.support.app import AppFactory, Session
from ztix.auth.caller import Caller
from ztix.db.models import ADMIN_SCOPE, User, UserAsn
from ztix.db.session import Database, _RawStatement
from ztix.workflow import users

pytestmark = pytest.mark.both_databases

PAGE = "/api/v1/requests"


@pytest.fixture
def statements(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement the app sends to the database, as sent: through SQLAlchemy, and on
    PostgreSQL through ``Database.fetch``'s own path, which SQLAlchemy's events do not see."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()).lower())

    run = _RawStatement.run

    def run_recorded(raw: _RawStatement, engine: Any, params: dict[str, Any]) -> list[Any]:
        record(None, None, raw.sql)
        return run(raw, engine, params)

    monkeypatch.setattr(_RawStatement, "run", run_recorded)
    event.listen(database.engine, "before_cursor_execute", record)
    yield seen
    event.remove(database.engine, "before_cursor_execute", record)


@pytest.fixture
def checkouts(database: Database) -> Iterator[list[int]]:
    """One entry per connection taken from the pool."""
    taken: list[int] = []

    def record(*args: Any) -> None:
        taken.append(1)

    event.listen(database.engine, "checkout", record)
    yield taken
    event.remove(database.engine, "checkout", record)


def _selects(seen: list[str]) -> list[str]:
    return [s for s in seen if s.startswith("select")]


def _page_selects(seen: list[str], database: Database) -> tuple[str, str]:
    """The look-up's statement and the page's. On PostgreSQL the look-up also reads the
    digest of the page's rows' versions (``api/page_cache.py``, ``auth.sessions.Companion``):
    the first read of a page reads the page too, a second one the look-up only."""
    lookup, page = _selects(seen)
    kept = database.engine.dialect.name == "postgresql"
    assert ("ztix_member_page_version(" in lookup) is kept
    return lookup, page


def test_a_member_page_is_the_session_statement_and_the_page_statement(
    member: Session, statements: list[str], database: Database
) -> None:
    assert member.post(PAGE, json=join(213035)).status_code == 201
    statements.clear()
    response = member.get(PAGE, params={"limit": 100})
    assert response.status_code == 200
    assert [r["asn"] for r in response.json()["items"]] == [213035]
    session_lookup, page = _page_selects(statements, database)
    # The session, its user and the user's ASNs, in that one statement.
    assert "from user_sessions join users" in session_lookup
    assert "left outer join user_asns" in session_lookup
    assert "join_requests" in page and "user_sessions" not in page
    statements.clear()
    assert member.get(PAGE, params={"limit": 100}).content == response.content
    # Again: on PostgreSQL the look-up alone, with the digest (the page is the one kept):
    # one round trip; on SQLite the look-up and the page.
    if database.engine.dialect.name == "postgresql":
        (lookup,) = _selects(statements)
        assert "from user_sessions join users" in lookup
        assert "ztix_member_page_version(" in lookup
    else:
        lookup, second = _selects(statements)
        assert "from user_sessions join users" in lookup and "ix_networks.name" in second


def test_a_bearer_page_is_the_token_statement_and_the_page_statement(
    member: Session, make_client: AppFactory, statements: list[str], database: Database
) -> None:
    assert member.post(PAGE, json=join(213035)).status_code == 201
    assert member.post(PAGE, json=join(13335, "a1b2c3d4e6")).status_code == 201
    secret = make_token(member, asns=[13335])["secret"]
    other = make_client()
    headers = bearer(other, secret)
    assert other.get(PAGE, headers=headers).status_code == 200  # records its first use
    statements.clear()
    response = other.get(PAGE, headers=headers)
    assert [r["asn"] for r in response.json()["items"]] == [13335]
    # The token's statement, then the page's (or on PostgreSQL the digest of the page kept
    # from the read before: api/page_cache.py).
    token_lookup, page = _selects(statements)
    assert "from api_tokens join users" in token_lookup
    assert "left outer join user_asns" in token_lookup
    kept = database.engine.dialect.name == "postgresql"
    assert ("ztix_member_page_version(" in page) is kept and ("join_requests" in page) is not kept


def test_the_user_row_is_loaded_only_by_routes_that_need_it(
    member: Session, statements: list[str], checkouts: list[int], database: Database
) -> None:
    """``/onboarding/context`` shows where each ASN came from: it loads the ``User`` row
    (with its ASNs) right after the look-up; the member's page does not load it at all. The
    look-up takes a connection of its own, given back at once (``Database.fetch``); the
    context then takes one for the row and one for the handler, the page one for the
    handler (on PostgreSQL the look-up reads the page's digest too)."""
    statements.clear()
    checkouts.clear()
    context = member.get("/api/v1/onboarding/context").json()
    assert [a["asn"] for a in context["asns"]] == [13335, 213035]
    selects = _selects(statements)
    assert "from user_sessions join users" in selects[0]
    assert selects[1].startswith("select users.id")
    assert len(checkouts) == 3
    statements.clear()
    checkouts.clear()
    assert member.get(PAGE).status_code == 200
    assert not any(s.startswith("select users.id") for s in statements)
    assert len(checkouts) == 2
    statements.clear()
    checkouts.clear()
    assert member.get(PAGE).status_code == 200  # kept on PostgreSQL: the look-up alone
    assert len(checkouts) == (1 if database.engine.dialect.name == "postgresql" else 2)


def test_a_token_narrows_the_user_row_as_it_narrows_the_caller(
    member: Session, make_client: AppFactory
) -> None:
    """A member token for one of two ASNs: the page (the caller) and the onboarding
    context (the ``User`` row) both see that ASN only; a request for the other is refused."""
    secret = make_token(member, asns=[213035], write=True)["secret"]
    other = make_client()
    headers = bearer(other, secret)
    context = other.get("/api/v1/onboarding/context", headers=headers).json()
    assert [a["asn"] for a in context["asns"]] == [213035]
    refused = other.post(PAGE, json=join(13335), headers=headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "asn_not_authorized"
    assert other.post(PAGE, json=join(213035), headers=headers).status_code == 201


def test_the_same_asn_from_two_sources_and_no_asns_at_all(
    login_as: Callable[..., Session], database: Database
) -> None:
    """The look-up joins one row per ASN: an ASN held twice (local and PeeringDB) counts
    once, and a user with none still has a session (and an empty page)."""
    dave = login_as("dave", asns=(213035,))
    with database.session() as db:
        user = users.get_user_by_username(db, "dave")
        assert user is not None
        db.add(UserAsn(user_id=user.id, asn=213035, source="peeringdb"))
    assert dave.post(PAGE, json=join(213035)).status_code == 201
    assert dave.get(PAGE).json()["total"] == 1
    erin = login_as("erin")
    assert erin.get(PAGE).json() == {"items": [], "total": 0, "limit": 50, "offset": 0}


def test_a_demoted_admin_loses_admin_rights_on_the_next_request(
    admin: Session, database: Database
) -> None:
    assert admin.get("/api/v1/admin/requests").status_code == 200
    with database.session() as db:
        db.execute(update(User).where(User.username == "root").values(role="operator"))
    refused = admin.get("/api/v1/admin/requests")
    assert refused.status_code == 403
    assert refused.json()["code"] == "admin_required"


def test_the_callers_rights_read_as_the_user_rows_did() -> None:
    held = frozenset({64500, 64501})
    session = Caller(id=1, username="a", role="admin", asns=held)
    assert session.is_admin and session.held_asns() == {64500, 64501}
    admin_token = Caller(id=1, username="a", role="admin", asns=held, scope=ADMIN_SCOPE)
    assert admin_token.is_admin and admin_token.held_asns() == {64500, 64501}
    member_token = Caller(
        id=1, username="a", role="admin", asns=held, scope=frozenset({64501, 65000})
    )
    assert not member_token.is_admin  # a member token never has admin rights
    assert member_token.held_asns() == {64501}  # nor more than its owner holds now
    operator = Caller(id=2, username="b", role="operator", asns=frozenset())
    assert not operator.is_admin and operator.held_asns() == set()
