"""Notification settings, webhooks and the delivery log over HTTP: the owner's only."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from tests.support.app import NWID, AppFactory, Session
from ztix.db.models import AuditEvent, Notification, User
from ztix.db.session import Database

HOOKS = "/api/v1/webhooks"
SETTINGS = "/api/v1/notifications/settings"


def test_email_can_be_turned_off_and_on(member: Session, database: Database) -> None:
    assert member.get(SETTINGS).json() == {
        "email": True,
        "email_address": None,
        "email_configured": False,
        "email_address_editable": True,
    }
    response = member.client.put(
        SETTINGS, json={"email": False}, headers={"X-CSRF-Token": member.csrf}
    )
    assert response.status_code == 200
    assert response.json()["email"] is False
    assert member.get(SETTINGS).json()["email"] is False
    with database.session() as db:
        assert (
            db.scalar(
                select(AuditEvent.action).where(AuditEvent.action == "notifications.email_off")
            )
            is not None
        )


def test_a_local_account_changes_its_address_and_a_peeringdb_one_cannot(
    member: Session, database: Database
) -> None:
    csrf = {"X-CSRF-Token": member.csrf}
    changed = member.client.put(SETTINGS, json={"email_address": "noc@example.net"}, headers=csrf)
    assert changed.status_code == 200, changed.text
    assert changed.json()["email_address"] == "noc@example.net"
    assert changed.json()["email"] is True  # untouched
    assert member.get(SETTINGS).json()["email_address"] == "noc@example.net"
    for bad in ("not-an-address", "Bob <bob@example.net>", "a@b", "x@example.net\nBcc: y@z.net"):
        refused = member.client.put(SETTINGS, json={"email_address": bad}, headers=csrf)
        assert refused.status_code == 422, bad
        assert refused.json()["code"] == "validation_failed"
    assert member.client.put(SETTINGS, json={}, headers=csrf).status_code == 422
    with database.session() as db:
        events = list(
            db.scalars(
                select(AuditEvent).where(AuditEvent.action == "notifications.email_address_changed")
            )
        )
        assert len(events) == 1
        assert "noc@example.net" not in str(events[0].details)  # personal data stays out
        assert events[0].target_id is not None
        user = db.get(User, int(events[0].target_id))
        assert user is not None
        user.peeringdb_id = 4242  # the same account, as if it came from PeeringDB
    assert member.get(SETTINGS).json()["email_address_editable"] is False
    managed = member.client.put(SETTINGS, json={"email_address": "x@example.net"}, headers=csrf)
    assert managed.status_code == 409
    assert managed.json()["code"] == "email_address_managed"
    assert member.get(SETTINGS).json()["email_address"] == "noc@example.net"


def test_webhook_urls_on_private_addresses_are_refused_by_default(member: Session) -> None:
    for url in ("http://127.0.0.1:8080/hook", "http://10.1.2.3/hook", "http://[::1]/x"):
        response = member.post(HOOKS, json={"url": url})
        assert response.status_code == 422, url
        assert response.json()["code"] == "webhook_url_refused"
    assert member.post(HOOKS, json={"url": "ftp://example.net/x"}).status_code == 422
    assert member.get(HOOKS).json() == []


def test_webhooks_are_created_listed_and_deleted_by_their_owner(
    make_client: AppFactory, login_as: Callable[..., Session]
) -> None:
    client = make_client(
        notifications={"allow_private_webhook_targets": True, "max_webhooks_per_user": 1}
    )
    alice = login_as("alice", client=client, asns=(213035,))
    created = alice.post(HOOKS, json={"url": "http://127.0.0.1:9/hook"})
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    hook = created.json()["webhook"]
    assert alice.get(HOOKS).json() == [hook]
    assert secret not in str(alice.get(HOOKS).json())
    limit = alice.post(HOOKS, json={"url": "http://127.0.0.1:9/other"})
    assert limit.status_code == 409 and limit.json()["code"] == "webhook_limit"
    bob = login_as("bob", client=make_client(), asns=(64500,))
    foreign = bob.client.delete(f"{HOOKS}/{hook['id']}", headers={"X-CSRF-Token": bob.csrf})
    assert foreign.status_code == 404 and foreign.json()["code"] == "webhook_not_found"
    mine = alice.client.delete(f"{HOOKS}/{hook['id']}", headers={"X-CSRF-Token": alice.csrf})
    assert mine.status_code == 204
    assert alice.get(HOOKS).json() == []


def test_the_delivery_log_shows_only_your_own(
    admin: Session, member: Session, database: Database, make_client: AppFactory
) -> None:
    made = member.post(
        "/api/v1/requests", json={"asn": 213035, "zt_network_id": NWID, "node_id": "a1b2c3d4e5"}
    )
    assert made.status_code == 201
    rid = made.json()["id"]
    reject = admin.post(f"/api/v1/admin/requests/{rid}/reject", json={"reason": "no"})
    assert reject.status_code == 200, reject.text
    with database.session() as db:
        queued = list(db.scalars(select(Notification)))
    # alice has no e-mail address: nothing for her; the admin mailbox row is nobody's log
    assert {(n.event, n.user_id is None) for n in queued} == {("request.submitted", True)}
    assert member.get("/api/v1/notifications/deliveries").json()["items"] == []
    assert admin.get("/api/v1/notifications/deliveries").json()["total"] == 0


def test_tokens_cannot_manage_webhooks(member: Session, make_client: AppFactory) -> None:
    secret = member.post(
        "/api/v1/tokens", json={"name": "ci", "asns": [213035], "write": True}
    ).json()["secret"]
    client = make_client()
    client.cookies.clear()
    response = client.post(
        HOOKS,
        json={"url": "https://example.net/hook"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "token_not_allowed"
    log = client.get(
        "/api/v1/notifications/deliveries", headers={"Authorization": f"Bearer {secret}"}
    )
    assert log.status_code == 200
