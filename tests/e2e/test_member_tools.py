"""The member tools in Debian's Chromium against the real server: a member creates an API
token, sees its secret once, uses it from a script without cookies, and revokes it. The
pages are checked with axe-core (and photographed with ZTIX_SCREENSHOTS=1)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.e2e.browser import PASSWORD, check_page, login_local
from tests.support.e2e import OTHER_ASN, Ix
from tests.support.waiting import wait_for
from ztix.config.directory import DirectoryConfig
from ztix.db.models import User
from ztix.workflow import requests as service
from ztix.workflow.audit import Actor

expect.set_options(timeout=10_000)
NODE = "4d5e6f7081"


@pytest.fixture(scope="module")
def bob_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        reduced_motion="reduce",
        locale="en-GB",
        bypass_csp=True,  # lets the test inject axe-core
    )
    yield context.new_page()
    context.close()


def test_a_member_creates_uses_and_revokes_an_api_token(ix: Ix, bob_page: Page) -> None:
    page = bob_page
    login_local(page, ix.url, "bob")
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    expect(page.get_by_text("No tokens yet")).to_be_visible()
    check_page(page, "tokens")

    page.get_by_label("Name").fill("provisioning")
    page.get_by_label("Scope").select_option("write")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_test_id("token-secret").inner_text()
    assert re.fullmatch(r"ztix_[A-Za-z0-9_-]{43}", secret), secret
    row = page.get_by_role("row").filter(has_text="provisioning")
    expect(row).to_contain_text(f"AS{OTHER_ASN}")
    expect(row).to_contain_text("read + write")
    check_page(page, "tokens-created")

    script = httpx.Client(base_url=ix.url, headers={"Authorization": f"Bearer {secret}"})
    answer = script.get("/api/v1/onboarding/context")
    assert answer.status_code == 200, answer.text
    assert [a["asn"] for a in answer.json()["asns"]] == [OTHER_ASN]

    # The token drives a join request (no cookie, no CSRF); an admin approves it and the
    # in-process runner provisions it on the emulator and the real BIRD route server.
    made = script.post(
        "/api/v1/requests",
        json={"asn": OTHER_ASN, "zt_network_id": ix.network_id, "node_id": NODE},
    )
    assert made.status_code == 201, made.text
    with ix.database.session() as db:
        service.approve(db, uuid.UUID(made.json()["id"]), Actor(name="admin"))
    wait_for(
        "the member to be active",
        lambda: script.get(f"/api/v1/requests/{made.json()['id']}").json()["status"] == "active",
        30,
    )

    page.get_by_role("button", name="I have copied it").click()
    expect(page.get_by_test_id("token-secret")).to_have_count(0)
    page.reload()
    expect(page.get_by_text(secret)).to_have_count(0)  # never shown again
    row.get_by_role("button", name="Revoke provisioning").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Revoke", exact=True).click()
    expect(row).to_contain_text("revoked")
    refused = script.get("/api/v1/requests")
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_invalid"


def test_the_directory_lists_connected_members_with_their_sessions(ix: Ix, bob_page: Page) -> None:
    page = bob_page  # logged in, and AS196610 connected, by the test above
    page.get_by_role("link", name="Member directory").click()
    expect(page.get_by_role("heading", name="Member directory", level=1)).to_be_visible()
    row = page.locator(f"tr[data-asn='{OTHER_ASN}']")
    expect(row).to_contain_text(f"AS{OTHER_ASN}")
    exported = httpx.get(f"{ix.url}/participants.json").json()
    mine = next(m for m in exported["member_list"] if m["asnum"] == OTHER_ASN)
    address = mine["connection_list"][0]["vlan_list"][0]["ipv4"]["address"]
    expect(row).to_contain_text(address)  # the same address as the IX-F export
    expect(row.get_by_text(re.compile(r"v4: "))).to_be_visible()  # read from the real BIRD
    check_page(page, "directory")


@pytest.fixture
def visitor_page(browser: Browser) -> Iterator[Page]:
    """A visitor without a session."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        reduced_motion="reduce",
        locale="en-GB",
        bypass_csp=True,
    )
    yield context.new_page()
    context.close()


@pytest.fixture
def public_directory(ix: Ix) -> Iterator[None]:
    """The server running with ``directory.public = true`` for one test."""
    private = ix.app.state.settings
    ix.app.state.settings = private.model_copy(update={"directory": DirectoryConfig(public=True)})
    try:
        yield
    finally:
        ix.app.state.settings = private


def test_a_visitor_is_sent_to_login_when_the_directory_is_not_public(
    ix: Ix, visitor_page: Page
) -> None:
    page = visitor_page
    assert not ix.app.state.settings.directory.public
    page.goto(f"{ix.url}/directory")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert page.url.endswith("/login?next=%2Fdirectory"), page.url  # not "session expired"
    expect(page.get_by_text("Your session has expired")).to_have_count(0)
    expect(page.get_by_role("table", name="Members")).to_have_count(0)
    # Logging in leads back to the directory, inside the app.
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Member directory", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").first).to_be_attached()


def test_a_visitor_reads_the_public_directory_without_logging_in(
    ix: Ix, visitor_page: Page, public_directory: None
) -> None:
    page = visitor_page
    page.goto(f"{ix.url}/directory")
    expect(page.get_by_role("heading", name="Member directory", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)  # no app shell
    exported = httpx.get(f"{ix.url}/participants.json").json()["member_list"]
    if exported:  # the same members as the IX-F export
        for member in exported:
            expect(page.locator(f"tr[data-asn='{member['asnum']}']").first).to_be_visible()
    else:
        expect(page.get_by_text("No members are connected yet")).to_be_visible()
    check_page(page, "directory-public")
    login = page.get_by_role("link", name="Log in")
    expect(login).to_have_attribute("href", "/login?next=%2Fdirectory")
    login.click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_notifications_page_turns_email_off_and_explains_refused_webhooks(
    ix: Ix, bob_page: Page
) -> None:
    page = bob_page
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    email = page.get_by_role("checkbox")
    expect(email).to_be_checked()
    email.click()  # saved at once; the box follows the answer
    expect(email).not_to_be_checked()
    page.reload()
    expect(page.get_by_role("checkbox")).not_to_be_checked()
    page.get_by_label("New webhook URL").fill("http://127.0.0.1:9/hooks")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("main").get_by_text("This webhook URL cannot be used.")).to_be_visible()
    check_page(page, "notifications")


def test_a_member_sets_the_address_their_mail_goes_to(ix: Ix, bob_page: Page) -> None:
    page = bob_page  # a local account, created without an address
    page.goto(f"{ix.url}/notifications")
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    expect(page.get_by_text("Your account has no e-mail address yet.")).to_be_visible()
    page.get_by_role("button", name="Set an address").click()
    field = page.get_by_label("E-mail address")
    field.fill("bob at example")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Enter one e-mail address, like noc@example.net.")).to_be_visible()
    expect(field).to_have_attribute("aria-invalid", "true")
    check_page(page, "notifications-address")
    field.fill("noc@bob.example.net")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("noc@bob.example.net")).to_be_visible()
    page.reload()
    expect(page.get_by_text("noc@bob.example.net")).to_be_visible()
    with ix.database.session() as db:
        user = db.scalar(select(User).where(User.username == "bob"))
        assert user is not None and user.email == "noc@bob.example.net"


def test_an_admin_sees_every_live_token_and_revokes_a_leaked_one(
    ix: Ix, visitor_page: Page
) -> None:
    # bob makes a token with his session, as the Tokens page does.
    bob = httpx.Client(base_url=ix.url)
    me = bob.post("/api/v1/auth/local/login", json={"username": "bob", "password": PASSWORD})
    assert me.status_code == 200, me.text
    made = bob.post(
        "/api/v1/tokens",
        json={"name": "leaky-ci", "asns": [OTHER_ASN], "expires_in_days": 30},
        headers={"X-CSRF-Token": me.json()["csrf_token"]},
    )
    assert made.status_code == 201, made.text
    script = httpx.Client(
        base_url=ix.url, headers={"Authorization": f"Bearer {made.json()['secret']}"}
    )
    assert script.get("/api/v1/requests").status_code == 200

    page = visitor_page
    login_local(page, ix.url, "admin")
    page.get_by_role("link", name="All API tokens").first.click()
    expect(page.get_by_role("heading", name="All API tokens", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has_text="leaky-ci")
    expect(row).to_contain_text("bob")
    expect(row).to_contain_text(f"AS{OTHER_ASN}")
    expect(row).to_contain_text(made.json()["token"]["prefix"])
    expect(page.get_by_text(made.json()["secret"])).to_have_count(0)  # never a secret
    check_page(page, "admin-tokens")

    row.get_by_role("button", name="Revoke leaky-ci").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Revoke bob\u2019s token \u201cleaky-ci\u201d?")
    dialog.get_by_role("button", name="Revoke", exact=True).click()
    expect(page.get_by_role("row").filter(has_text="leaky-ci")).to_have_count(0)  # live only
    refused = script.get("/api/v1/requests")
    assert refused.status_code == 401 and refused.json()["code"] == "token_invalid"
    # bob sees it as revoked on his own list.
    listed = {t["name"]: t for t in bob.get("/api/v1/tokens").json()}
    assert listed["leaky-ci"]["revoked_at"] is not None
