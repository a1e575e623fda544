"""The operator pages of issue 18 in Chromium: the Users page lists accounts with their
grants and acts on them; the Audit page filters, pages and exports CSV. Axe-clean and
photographed at 1280 and 375 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import check_page, login_local
from tests.support.e2e import OTHER_ASN, Ix

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
