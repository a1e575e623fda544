"""The operator pages of issue 18 in Chromium: the Users page lists accounts with their
grants and acts on them (manual ASN grants too); the Audit page filters, pages and exports
CSV; an admin approves with import-limit overrides and a note; the Networks page shows the
declared and actual layer-2 settings with drift, members, address usage and route servers.
Axe-clean and photographed at 1280 and 375 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import check_page, login_local
from tests.support.e2e import OTHER_ASN, Ix
from ztix.zerotier.controller import ControllerProvider, ControllerSettings

expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def admin_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        reduced_motion="reduce",
        locale="en-GB",
        bypass_csp=True,  # lets the test inject axe-core
    )
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def bob_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, reduced_motion="reduce", locale="en-GB"
    )
    yield context.new_page()
    context.close()


NODE_BOB = "b0b0000018"
SLOW = 30_000  # provisioning with the controller emulator and a real BIRD


def test_admin_manages_users(ix: Ix, admin_page: Page) -> None:
    page = admin_page
    login_local(page, ix.url, "admin")
    page.get_by_role("link", name="Users").first.click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    bob = page.get_by_role("row").filter(has_text="bob")
    expect(bob).to_contain_text(f"AS{OTHER_ASN}")
    expect(bob).to_contain_text("Local")
    # An admin cannot disable themselves or drop their own role.
    expect(page.get_by_role("button", name="Disable admin", exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="Remove admin from admin")).to_be_disabled()
    check_page(page, "admin-users")

    page.get_by_role("button", name="Disable bob").click()
    expect(page.get_by_text("bob is disabled; their sessions ended.")).to_be_visible()
    expect(bob).to_contain_text("Disabled")
    page.get_by_role("button", name="Enable bob").click()
    expect(bob).not_to_contain_text("Disabled")
    page.get_by_role("button", name="Make admin bob").click()
    expect(bob.get_by_text("admin", exact=True)).to_be_visible()
    page.get_by_role("button", name="Remove admin from bob").click()
    expect(bob.get_by_text("operator", exact=True)).to_be_visible()


def test_admin_filters_pages_and_exports_the_audit_trail(ix: Ix, admin_page: Page) -> None:
    page = admin_page
    page.goto(f"{ix.url}/admin/audit")
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    page.get_by_label("Actor").fill("admin")
    page.get_by_label("Action").fill("user.disabled")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"actor=admin&action=user.disabled"))
    rows = page.get_by_role("row")
    expect(rows).to_have_count(2)  # the header and the one event of the Users test
    expect(rows.nth(1)).to_contain_text('"username":"bob"')
    expect(page.get_by_text("1\u20131 of 1 events")).to_be_visible()
    check_page(page, "admin-audit")

    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0].startswith("id,occurred_at,actor,action")
    assert len(lines) == 2 and ",admin,user.disabled," in lines[1]

    page.get_by_role("button", name="Clear").click()
    expect(page.get_by_role("button", name="Older")).to_be_visible()


def test_admin_adds_and_removes_a_manual_grant(ix: Ix, admin_page: Page) -> None:
    page = admin_page
    page.goto(f"{ix.url}/admin/users")
    bob = page.get_by_role("row").filter(has_text="Bob Operator")
    field = page.get_by_label("Add an ASN for bob")
    # A private ASN: the API's problem code, in the web app's sentence.
    field.fill("AS64500")
    page.get_by_role("button", name="Add ASN to bob").click()
    expect(bob.get_by_role("alert")).to_have_text(re.compile(r"^This ASN cannot peer at this IX\."))
    expect(field).to_have_attribute("aria-invalid", "true")
    field.fill("as3320")
    page.get_by_role("button", name="Add ASN to bob").click()
    expect(page.get_by_text("bob may now act for AS3320.")).to_be_visible()
    expect(bob).to_contain_text("AS3320 (local)")
    expect(bob.get_by_role("alert")).to_have_count(0)
    expect(field).to_have_value("")
    check_page(page, "admin-users-grants")
    page.get_by_role("button", name="Remove AS3320 from bob").click()
    expect(page.get_by_text("bob no longer acts for AS3320.")).to_be_visible()
    expect(bob).not_to_contain_text("AS3320")
    expect(bob).to_contain_text(f"AS{OTHER_ASN}")


def test_admin_approves_with_import_limits_and_a_note(
    ix: Ix, admin_page: Page, bob_page: Page
) -> None:
    login_local(bob_page, ix.url, "bob")
    bob_page.goto(f"{ix.url}/onboarding")
    bob_page.get_by_label("Your router's ZeroTier node ID").fill(NODE_BOB)
    bob_page.get_by_role("button", name="Send request").click()
    expect(bob_page).to_have_url(re.compile(r"/requests/[0-9a-f-]{36}$"))
    request_id = bob_page.url.rsplit("/", 1)[1]

    page = admin_page
    page.goto(f"{ix.url}/admin/requests/{request_id}")
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    page.get_by_role("button", name="Approve", exact=True).click()
    dialog = page.get_by_role("dialog", name="Approve this request?")
    expect(dialog).to_be_visible()
    dialog.get_by_label("IPv4 max-prefix").fill("lots")
    dialog.get_by_role("button", name="Approve", exact=True).click()
    expect(dialog.get_by_role("alert")).to_have_text(
        "A limit is a whole number from 1 to 10,000,000."
    )
    dialog.get_by_label("IPv4 max-prefix").fill("250")
    dialog.get_by_label("IPv6 max-prefix").fill("40")
    dialog.get_by_label("Note for the other admins (optional)").fill("Checked with Bob by phone")
    check_page(page, "admin-approve-dialog")
    dialog.get_by_role("button", name="Approve", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(page.locator("main [data-status]").first).to_have_attribute(
        "data-status", "active", timeout=SLOW
    )
    expect(page.get_by_text("IPv4 250 · IPv6 40")).to_be_visible()
    expect(page.get_by_text("Checked with Bob by phone")).to_be_visible()
    # The route servers use them.
    expect(page.get_by_text(re.compile(r"Now 250 IPv4 and 40 IPv6 prefixes"))).to_be_visible(
        timeout=SLOW
    )


def test_admin_sees_the_networks_with_drift_usage_and_route_servers(
    ix: Ix, admin_page: Page
) -> None:
    page = admin_page
    page.goto(f"{ix.url}/admin/requests")
    page.get_by_role("link", name="Networks").first.click()
    expect(page.get_by_role("heading", name="Networks", exact=True)).to_be_visible()
    card = page.get_by_role("heading", name="ZT-IX Frankfurt")
    expect(card).to_be_visible()
    expect(page.get_by_text(ix.network_id, exact=True)).to_be_visible()
    expect(page.get_by_text("In shape")).to_be_visible()
    expect(page.get_by_text("rs1", exact=True)).to_be_visible()
    expect(page.get_by_text("192.0.2.1 · 2001:db8:ab::1")).to_be_visible()
    # 254 hosts, .1 kept for the route server (declared reserved, and rs1's address: once).
    expect(page.get_by_text("1 reserved of 254")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^\d+ active"))).to_be_visible()
    check_page(page, "admin-networks")

    # Drift on the controller is shown beside what is declared, then put back.
    # The IX's reconciler repairs drift every 2 s, so it may set the MTU back before the page
    # reads it: drift again until a load catches it (the page then keeps what it read).
    settings = ControllerSettings(url=ix.emulator.url, token=ix.emulator.token)
    try:
        mtu = page.get_by_role("row", name=re.compile(r"^MTU"))
        for _ in range(10):
            with ControllerProvider(settings) as controller:
                controller.set_network(ix.network_id, {"mtu": 2800})
            page.reload()
            expect(mtu).to_be_visible()
            if "differs" in mtu.inner_text():
                break
        expect(mtu).to_contain_text("differs")
        expect(mtu.get_by_role("cell")).to_have_text(["1500", "2800"])
        expect(page.get_by_text("Drift in 1")).to_be_visible()
        check_page(page, "admin-networks-drift")
    finally:
        with ControllerProvider(settings) as controller:
            controller.set_network(ix.network_id, {"mtu": 1500})
