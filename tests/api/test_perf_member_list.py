"""A member's request list after the cheaper path (issue 17, P4): the page, its addresses
and its total come from one statement, the page is serialized once, and the session, its
user and the user's ASNs are read in one statement. The answers stay what they were: the
same items as the single-request view, the right total on every page, and a session that
logout or a disabled account ends is refused at once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from tests.support.app import NWID, NWID_B, Session
from ztix.api.schemas.common import Page
from ztix.api.schemas.requests import JoinRequestOut
from ztix.db.base import utcnow
from ztix.db.models import AddressAssignment, JoinRequest, UserAsn
from ztix.db.session import Database
from ztix.workflow import audit, users

PAGE = "/api/v1/requests"

# The page is read from plain columns and written as JSON without a model (issue 17, P4):
# proven on both databases against the single-request view, which JoinRequestOut.of writes.
pytestmark = pytest.mark.both_databases


def make_requests(member: Session, count: int) -> list[dict[str, Any]]:
    made = []
    for i in range(count):
        body = {
            "asn": (213035, 13335)[i % 2],
            "zt_network_id": (NWID, NWID_B)[i % 2],
            "node_id": f"abcdef{i:04d}",
        }
        response = member.post(PAGE, json=body)
        assert response.status_code == 201, response.text
        made.append(response.json())
    return made


def _give_addresses(database: Database, request_id: str) -> None:
    """What provisioning leaves on an active request: two addresses and a read-back."""
    with database.session() as db:
        request = db.get(JoinRequest, uuid.UUID(request_id))
        assert request is not None
        request.zt_synced_at = utcnow()
        request.zt_authorized = True
        for family, address in ((6, "2001:db8::7"), (4, "10.0.0.7")):
            db.add(
                AddressAssignment(
                    network_id=request.network_id,
                    request_id=request.id,
                    family=family,
                    address=address,
                    asn=request.asn,
                )
            )


def _fail_and_read_back(database: Database, failed_id: str, synced_id: str) -> None:
    """A failed attempt's error on one request; a read-back without addresses on another."""
    with database.session() as db:
        failed = db.get(JoinRequest, uuid.UUID(failed_id))
        synced = db.get(JoinRequest, uuid.UUID(synced_id))
        assert failed is not None and synced is not None
        failed.last_error_code, failed.last_error_system = "controller_unreachable", "zerotier"
        failed.last_error_message, failed.attempts = "connection refused", 3
        failed.next_attempt_at = utcnow()
        synced.zt_synced_at, synced.zt_authorized, synced.zt_provider = utcnow(), False, "local"


def test_pages_carry_the_items_of_the_single_view_and_the_total(
    member: Session, login_as: Callable[..., Session], database: Database
) -> None:
    made = make_requests(member, 5)
    _give_addresses(database, made[1]["id"])
    _fail_and_read_back(database, made[2]["id"], made[3]["id"])
    other = login_as("bob", asns=(3320,))  # someone else's request is never in the list
    body = {"asn": 3320, "zt_network_id": NWID, "node_id": "fedcba9876"}
    assert other.post(PAGE, json=body).status_code == 201

    first = member.get(PAGE, params={"limit": 2}).json()
    second = member.get(PAGE, params={"limit": 2, "offset": 2}).json()
    last = member.get(PAGE, params={"limit": 2, "offset": 4}).json()
    past = member.get(PAGE, params={"limit": 2, "offset": 9}).json()

    assert [p["total"] for p in (first, second, last, past)] == [5, 5, 5, 5]
    assert [len(p["items"]) for p in (first, second, last, past)] == [2, 2, 1, 0]
    listed = [i for p in (first, second, last) for i in p["items"]]
    assert [i["id"] for i in listed] == [r["id"] for r in reversed(made)]  # newest first
    for item in listed:
        assert item == member.get(f"{PAGE}/{item['id']}").json()
    provisioned = next(i for i in listed if i["id"] == made[1]["id"])
    assert provisioned["membership"]["ipv4"] == "10.0.0.7"
    assert provisioned["membership"]["ipv6"] == "2001:db8::7"
    failed = next(i for i in listed if i["id"] == made[2]["id"])
    assert failed["last_error"] == {
        "code": "controller_unreachable",
        "message": "connection refused",
        "system": "zerotier",
    }
    synced = next(i for i in listed if i["id"] == made[3]["id"])
    assert synced["membership"]["ipv4"] is None
    assert synced["membership"]["authorized"] is False
    assert all(i["policy"] is not None for i in listed)  # each carries the policy's verdict


def test_the_page_is_byte_for_byte_what_the_models_write(
    member: Session, database: Database
) -> None:
    """The JSON the member's list sends is exactly the JSON of Page[JoinRequestOut] built
    with JoinRequestOut.of from the ORM rows (what the route answered before issue 17)."""
    made = make_requests(member, 4)
    _give_addresses(database, made[0]["id"])
    _fail_and_read_back(database, made[1]["id"], made[2]["id"])
    sent = member.get(PAGE, params={"limit": 3, "offset": 1})
    assert sent.status_code == 200
    assert sent.headers["content-type"] == "application/json"
    with database.read_session() as db:
        ids = [uuid.UUID(i["id"]) for i in sent.json()["items"]]
        rows = {r.id: r for r in db.scalars(select(JoinRequest).where(JoinRequest.id.in_(ids)))}
        page = Page[JoinRequestOut](
            items=[JoinRequestOut.of(rows[i]) for i in ids], total=4, limit=3, offset=1
        )
        assert sent.content == page.model_dump_json().encode()
    assert [i["id"] for i in sent.json()["items"]] == [r["id"] for r in reversed(made)][1:]


def test_the_status_filter_counts_what_it_lists(member: Session) -> None:
    made = make_requests(member, 3)
    member.post(f"{PAGE}/{made[0]['id']}/cancel")
    page = member.get(PAGE, params={"status": "cancelled"}).json()
    assert page["total"] == 1
    assert [i["id"] for i in page["items"]] == [made[0]["id"]]
    # The statement is built once per shape and bound each time: the next pages differ.
    both = member.get(PAGE, params=[("status", "cancelled"), ("status", "pending")]).json()
    assert both["total"] == 3
    assert [i["id"] for i in both["items"]] == [r["id"] for r in reversed(made)]
    assert member.get(PAGE, params={"status": "active"}).json() == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }


def test_a_member_without_asns_has_an_empty_page(
    member: Session, login_as: Callable[..., Session]
) -> None:
    make_requests(member, 2)  # someone else's
    nobody = login_as("erin")
    assert nobody.get(PAGE).json() == {"items": [], "total": 0, "limit": 50, "offset": 0}


def test_logout_and_a_disabled_account_end_the_session_at_once(
    login_as: Callable[..., Session], database: Database
) -> None:
    alice = login_as("alice", asns=(213035,))
    assert alice.get(PAGE).status_code == 200
    assert alice.post("/api/v1/auth/logout").status_code == 204
    refused = alice.get(PAGE)
    assert refused.status_code == 401
    assert refused.json()["code"] == "not_authenticated"

    carol = login_as("carol", asns=(3320,))
    assert carol.get(PAGE).status_code == 200
    with database.session() as db:
        users.disable_user(db, audit.CLI, "carol")
    refused = carol.get(PAGE)  # disabling revokes the account's sessions
    assert refused.status_code == 401
    assert refused.json()["code"] == "not_authenticated"


def test_asns_granted_after_login_show_on_the_next_request(
    login_as: Callable[..., Session], database: Database
) -> None:
    """The ASNs come with the session on every request, not from a copy made at login."""
    dave = login_as("dave", asns=(213035,))
    with database.session() as db:
        user = users.get_user_by_username(db, "dave")
        assert user is not None
        db.add(UserAsn(user_id=user.id, asn=13335, source="local"))
    context = dave.get("/api/v1/onboarding/context").json()
    assert [a["asn"] for a in context["asns"]] == [13335, 213035]


@pytest.mark.parametrize("statuses", [(), ("pending", "active", "failed")])
def test_the_statement_stays_short_enough_for_psycopg_to_keep(statuses: tuple[str, ...]) -> None:
    """psycopg converts a statement's placeholders once and keeps the result only for
    statements up to MAX_CACHED_STATEMENT_LENGTH; longer ones are parsed again on every
    execution (a third of the page's own client-side work, issue 17). A member with five
    ASNs, with or without a status filter, stays under it."""
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH
    from sqlalchemy.dialects.postgresql import psycopg as pg

    from ztix.api.schemas.requests import member_item_json
    from ztix.workflow import listing

    params: dict[str, Any] = {"asns": [64500 + i for i in range(5)], "limit": 100, "offset": 0}
    if statuses:
        params["statuses"] = list(statuses)
    query = listing._member_query(bool(statuses), member_item_json).params(**params)
    sql = str(query.compile(dialect=pg.dialect(), compile_kwargs={"render_postcompile": True}))
    assert len(sql) <= MAX_CACHED_STATEMENT_LENGTH, len(sql)


def test_reads_carry_no_csrf_check_and_writes_keep_it(client: Any) -> None:
    """A route that only reads resolves no CSRF dependency (nothing to check; issue 17):
    the OpenAPI document asks the header of writes only, and every read still requires a
    caller, so no route became public by losing it."""
    doc = client.get("/api/v1/openapi.json").json()
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            asks = any(p.get("name") == "x-csrf-token" for p in op.get("parameters", []))
            if method == "get":
                assert not asks, (method, path)
            elif path.startswith("/api/v1/") and not path.startswith("/api/v1/auth/"):
                assert asks, (method, path)
