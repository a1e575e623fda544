"""The operator pages of issue 18 in Chromium: the Users page lists accounts with their
grants and acts on them; axe-clean and photographed at 1280 and 375 px."""

from __future__ import annotations

from collections.abc import Iterator

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
