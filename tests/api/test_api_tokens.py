"""API tokens over HTTP: shown once and stored hashed, bearer calls without cookies or
CSRF, scopes, never worth more than the owner holds now, per-token limits, audit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from tests.support.app import NWID, AppFactory, Session
from ztix.db.base import utcnow
from ztix.db.models import ApiToken, AuditEvent, User, UserAsn
from ztix.db.session import Database

TOKENS = "/api/v1/tokens"
NODE = "a1b2c3d4e5"


def make_token(session: Session, **body: Any) -> dict[str, Any]:
    response = session.post(TOKENS, json={"name": "ci", **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def bearer(client: TestClient, secret: str) -> dict[str, str]:
    client.cookies.clear()  # a token call never needs a cookie
    return {"Authorization": f"Bearer {secret}"}


def join(asn: int, node: str = NODE) -> dict[str, Any]:
    return {"asn": asn, "zt_network_id": NWID, "node_id": node}


def test_the_secret_is_shown_once_and_stored_as_a_hash(member: Session, database: Database) -> None:
    created = make_token(member, asns=[213035], expires_in_days=30)
    secret = created["secret"]
    assert secret.startswith("ztix_") and len(secret) > 40
    token = created["token"]
    assert token["prefix"] == secret[:12]
    assert token["scopes"] == ["read"]
    assert token["asns"] == [213035]
    listed = member.get(TOKENS).json()
    assert [t["id"] for t in listed] == [token["id"]]
    assert secret not in str(listed)
    with database.session() as db:
        [row] = db.scalars(select(ApiToken))
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "api_token.created"))
    assert secret not in row.secret_hash and len(row.secret_hash) == 64
    assert secret not in str(event.details)
    assert event.details["prefix"] == token["prefix"]


def test_bearer_reads_without_cookies_and_sees_only_its_asns(
    member: Session, make_client: AppFactory
) -> None:
    assert member.post("/api/v1/requests", json=join(213035)).status_code == 201
    assert member.post("/api/v1/requests", json=join(13335, "a1b2c3d4e6")).status_code == 201
    secret = make_token(member, asns=[13335])["secret"]
    other = make_client()
    response = other.get("/api/v1/requests", headers=bearer(other, secret))
    assert response.status_code == 200
    assert [r["asn"] for r in response.json()["items"]] == [13335]
    context = other.get("/api/v1/onboarding/context", headers=bearer(other, secret)).json()
    assert [a["asn"] for a in context["asns"]] == [13335]


def test_writes_need_the_write_scope_but_no_csrf(
    member: Session, make_client: AppFactory, database: Database
) -> None:
    read_only = make_token(member, asns=[213035])["secret"]
    writer = make_token(member, name="deploy", asns=[213035], write=True)
    client = make_client()
    refused = client.post("/api/v1/requests", json=join(213035), headers=bearer(client, read_only))
    assert refused.status_code == 403
    assert refused.json()["code"] == "token_scope"
    made = client.post(
        "/api/v1/requests", json=join(213035), headers=bearer(client, writer["secret"])
    )
    assert made.status_code == 201, made.text
    # ASNs the owner holds but the token does not name stay out of reach
    other = client.post(
        "/api/v1/requests", json=join(13335, "a1b2c3d4e6"), headers=bearer(client, writer["secret"])
    )
    assert other.status_code == 403
    assert other.json()["code"] == "asn_not_authorized"
    with database.session() as db:
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "request.created"))
    assert event.actor == "alice"
    label = event.details["api_token"]
    assert "deploy" in label and writer["token"]["prefix"] in label
    assert writer["secret"] not in label


def test_a_token_cannot_manage_tokens_or_stand_in_for_a_session(
    member: Session, make_client: AppFactory
) -> None:
    secret = make_token(member, asns=[213035], write=True)["secret"]
    client = make_client()
    for method, url in (("GET", TOKENS), ("POST", TOKENS), ("GET", "/api/v1/me")):
        response = client.request(
            method, url, json={"name": "x", "asns": [213035]}, headers=bearer(client, secret)
        )
        assert response.status_code == 403, url
        assert response.json()["code"] == "token_not_allowed"


def test_the_token_follows_its_owner_now(
    member: Session, make_client: AppFactory, database: Database
) -> None:
    secret = make_token(member, asns=[213035, 13335], write=True)["secret"]
    with database.session() as db:
        db.execute(delete(UserAsn).where(UserAsn.asn == 13335))
    client = make_client()
    lost = client.post("/api/v1/requests", json=join(13335), headers=bearer(client, secret))
    assert lost.status_code == 403
    assert lost.json()["code"] == "asn_not_authorized"
    with database.session() as db:
        db.execute(update(User).where(User.username == "alice").values(is_active=False))
    disabled = client.get("/api/v1/requests", headers=bearer(client, secret))
    assert disabled.status_code == 403
    assert disabled.json()["code"] == "account_disabled"


def test_revoked_expired_and_unknown_tokens_are_refused_alike(
    member: Session, make_client: AppFactory, database: Database
) -> None:
    revoked = make_token(member, asns=[213035])
    expired = make_token(member, name="old", asns=[213035])["secret"]
    assert (
        member.client.delete(
            f"{TOKENS}/{revoked['token']['id']}", headers={"X-CSRF-Token": member.csrf}
        ).status_code
        == 204
    )
    with database.session() as db:
        db.execute(
            update(ApiToken)
            .where(ApiToken.name == "old")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    client = make_client()
    for secret in (revoked["secret"], expired, "ztix_" + "x" * 43, "not-even-ours"):
        response = client.get("/api/v1/requests", headers=bearer(client, secret))
        assert response.status_code == 401, secret
        assert response.json()["code"] == "token_invalid"
    [listed, _] = member.get(TOKENS).json()
    assert listed["name"] == "old"  # live (if expired) tokens first, the revoked one last


def test_admin_tokens_are_separate_and_admin_only(
    admin: Session, member: Session, make_client: AppFactory, login_as: Callable[..., Session]
) -> None:
    refused = member.post(TOKENS, json={"name": "x", "kind": "admin"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "admin_required"
    root_token = make_token(admin, kind="admin")["secret"]
    client = make_client()
    as_root = client.get("/api/v1/admin/requests", headers=bearer(client, root_token))
    assert as_root.status_code == 200
    # An admin who also holds an ASN: their member token has no admin rights.
    boss = login_as("boss", admin=True, asns=(64512,))
    member_token = make_token(boss, asns=[64512])["secret"]
    response = client.get("/api/v1/admin/requests", headers=bearer(client, member_token))
    assert response.status_code == 403
    assert response.json()["code"] == "admin_required"


def test_asns_and_expiry_are_checked_when_creating(member: Session) -> None:
    not_held = member.post(TOKENS, json={"name": "x", "asns": [64496]})
    assert not_held.status_code == 403
    assert not_held.json()["code"] == "asn_not_authorized"
    none = member.post(TOKENS, json={"name": "x", "asns": []})
    assert none.status_code == 422
    too_long = member.post(TOKENS, json={"name": "x", "asns": [213035], "expires_in_days": 400})
    assert too_long.status_code == 422
    assert member.get(TOKENS).json() == []


def test_reads_are_limited_per_token(
    make_client: AppFactory, login_as: Callable[..., Session]
) -> None:
    client = make_client(auth={"reads_per_token": {"attempts": 2, "window_seconds": 60}})
    alice = login_as("alice", client=client, asns=(213035,))
    first = make_token(alice, asns=[213035])["secret"]
    second = make_token(alice, name="other", asns=[213035])["secret"]
    answers = [
        client.get("/api/v1/requests", headers=bearer(client, first)).status_code for _ in range(3)
    ]
    assert answers == [200, 200, 429]
    assert client.get("/api/v1/requests", headers=bearer(client, second)).status_code == 200


def test_openapi_declares_the_bearer_scheme(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["ApiToken"]
    assert scheme == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "ztix_…",
        "description": scheme["description"],
    }
    assert document["paths"]["/api/v1/requests"]["get"]["security"] == [{"ApiToken": []}, {}]


def test_admins_see_every_live_token_and_revoke_a_leaked_one(
    admin: Session, member: Session, make_client: AppFactory, database: Database
) -> None:
    leaked = make_token(member, asns=[213035])
    listed = admin.get("/api/v1/admin/tokens").json()
    assert [(t["owner"], t["prefix"]) for t in listed] == [("alice", leaked["token"]["prefix"])]
    assert leaked["secret"] not in str(listed)
    assert member.get("/api/v1/admin/tokens").json()["code"] == "admin_required"
    gone = admin.client.delete(
        f"/api/v1/admin/tokens/{leaked['token']['id']}", headers={"X-CSRF-Token": admin.csrf}
    )
    assert gone.status_code == 204
    client = make_client()
    refused = client.get("/api/v1/requests", headers=bearer(client, leaked["secret"]))
    assert refused.json()["code"] == "token_invalid"
    with database.session() as db:
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "api_token.revoked"))
    assert event.actor == "root"
