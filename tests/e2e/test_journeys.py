"""The member's and the admin's journeys in Debian's Chromium against the real server.

One story in order (the tests share the server and build on each other): an admin logs in,
a member logs in with PeeringDB and asks to join, the admin approves, the member sees the
membership; a reject with a reason; a failure injected at the controller, seen by the admin
and retried; leaving; someone else's request is not found; a lost session sends the user to
/login and back. Every page is checked with axe-core and photographed at 1280 and 375 px.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.browser import check_page, login_local
from tests.support.e2e import MEMBER_ASN, RS_ASN, Ix

NODE_ACTIVE = "1a2b3c4d5e"
NODE_REJECTED = "2b3c4d5e6f"
NODE_FAILING = "3c4d5e6f70"
SLOW = 30_000  # ms: provisioning runs jobs, ZeroTier calls and a BIRD reconfiguration

expect.set_options(timeout=10_000)


class Story:
    """What the chapters hand on to each other."""

    active_id = ""
    rejected_id = ""
    failing_id = ""


def _context(browser: Browser) -> BrowserContext:
    return browser.new_context(
        viewport={"width": 1280, "height": 800},
        reduced_motion="reduce",
        locale="en-GB",
        bypass_csp=True,  # lets the test inject axe-core; the app itself needs no exception
    )


@pytest.fixture(scope="module")
def admin_page(browser: Browser) -> Iterator[Page]:
    context = _context(browser)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def member_page(browser: Browser) -> Iterator[Page]:
    context = _context(browser)
    yield context.new_page()
    context.close()


def expect_status(page: Page, status: str, timeout: int = SLOW) -> None:
    expect(page.locator("main [data-status]").first).to_have_attribute(
        "data-status", status, timeout=timeout
    )


def request_id_from(page: Page) -> str:
    match = re.search(r"/requests/([0-9a-f-]{36})", page.url)
    assert match, page.url
    return match.group(1)


def submit_request(page: Page, ix: Ix, node: str) -> str:
    page.goto(f"{ix.url}/onboarding")
    page.get_by_label("Your router's ZeroTier node ID").fill(node.upper())
    page.get_by_role("button", name="Send request").click()
    expect(page).to_have_url(re.compile(r"/requests/[0-9a-f-]{36}$"))
    expect_status(page, "pending")
    return request_id_from(page)


def admin_opens(page: Page, ix: Ix, request_id: str) -> None:
    page.goto(f"{ix.url}/admin/requests/{request_id}")
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()


def confirm(page: Page, action: str, reason: str | None = None) -> None:
    page.get_by_role("button", name=action, exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    if reason is not None:
        dialog.get_by_label("Reason").fill(reason)
    dialog.get_by_role("button", name=action, exact=True).click()
    expect(dialog).to_be_hidden()


# --- chapters ---------------------------------------------------------------------------


def test_admin_logs_in_with_a_local_account(ix: Ix, admin_page: Page) -> None:
    page = admin_page
    page.goto(f"{ix.url}/admin/requests")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fadmin%2Frequests"))
    expect(page.get_by_role("button", name="Log in with PeeringDB")).to_be_visible()
    check_page(page, "login")

    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password.")

    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Request queue")).to_be_visible()
    expect(page.get_by_text("IX admin")).to_be_visible()
    expect(page.get_by_text("No requests match these filters")).to_be_visible()


def test_member_logs_in_with_peeringdb_and_asks_to_join(ix: Ix, member_page: Page) -> None:
    page = member_page
    page.goto(f"{ix.url}/dashboard")
    page.get_by_role("button", name="Log in with PeeringDB").click()
    # The fake PeeringDB logs Ada in at once and sends the browser to /auth/callback.
    expect(page.get_by_role("heading", level=1, name="My requests")).to_be_visible()
    assert ix.peeringdb.authorize_requests, "the browser never reached PeeringDB"
    expect(page.get_by_text("Ada Lovelace").first).to_be_visible()
    expect(page.get_by_text("No requests yet")).to_be_visible()
    check_page(page, "dashboard-empty")

    page.get_by_role("link", name="Join the IX").first.click()
    expect(page.get_by_role("heading", level=1, name="Connect a router")).to_be_visible()
    expect(page.get_by_label("ASN")).to_contain_text(f"AS{MEMBER_ASN}")
    node = page.get_by_label("Your router's ZeroTier node ID")
    node.fill("ff12345678")
    node.blur()
    expect(page.get_by_text("Node IDs starting with ff are reserved.")).to_be_visible()
    expect(node).to_have_attribute("aria-invalid", "true")
    node.fill("12345")
    expect(page.get_by_text("A node ID has exactly 10 characters (this has 5).")).to_be_visible()
    page.get_by_text("Where do I find my node ID?").click()
    expect(page.get_by_text("200 info 1a2b3c4d5e 1.14.2 ONLINE")).to_be_visible()
    node.fill("")
    check_page(page, "onboarding")

    Story.active_id = submit_request(page, ix, NODE_ACTIVE)
    expect(page.get_by_text(NODE_ACTIVE).first).to_be_visible()  # normalised to lower case
    expect(page.get_by_text("Waiting for the IX team to review it.")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel request")).to_be_visible()
    check_page(page, "request-pending")

    # Asking twice for the same router is caught before it reaches the server.
    page.goto(f"{ix.url}/onboarding")
    page.get_by_label("Your router's ZeroTier node ID").fill(NODE_ACTIVE)
    expect(page.get_by_text("You already have an open request")).to_be_visible()


def test_admin_approves_and_the_member_sees_the_membership(
    ix: Ix, admin_page: Page, member_page: Page
) -> None:
    page = admin_page
    page.goto(f"{ix.url}/admin/requests")
    pending = page.get_by_role("button", name=re.compile(r"^Pending \d+$"))
    expect(pending).to_have_text(re.compile(r"Pending\s*1"))
    pending.click()
    expect(pending).to_have_attribute("aria-pressed", "true")
    row = page.get_by_role("row").filter(has_text=f"AS{MEMBER_ASN}")
    expect(row).to_have_count(1)
    check_page(page, "admin-queue")

    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    confirm(page, "Approve")
    expect_status(page, "active")
    expect(page.get_by_text("provisioning → active")).to_be_visible()
    check_page(page, "admin-request-active")

    # The admin overrides the member's IPv4 import limit; the route servers are resynced.
    page.get_by_label("IPv4 limit").fill("250")
    page.get_by_role("button", name="Set override").click()
    expect(page.get_by_text(re.compile(r"Now 250 IPv4 and \d+ IPv6 prefixes"))).to_be_visible(
        timeout=SLOW
    )

    member = member_page
    member.goto(f"{ix.url}/requests/{Story.active_id}")
    expect_status(member, "active")
    membership = member.get_by_role("heading", name="Your place on the peering LAN")
    expect(membership).to_be_visible()
    expect(member.get_by_text("192.0.2.2", exact=True)).to_be_visible()  # .1 is rs1's
    expect(member.get_by_text("2001:db8:ab::21:3035:1", exact=True)).to_be_visible()
    expect(member.get_by_text(f"zerotier-cli join {ix.network_id}", exact=True)).to_be_visible()
    expect(member.get_by_text("rs1", exact=True)).to_be_visible()
    expect(member.get_by_text(f"AS{RS_ASN}", exact=True)).to_be_visible()
    snippet = member.get_by_label("BIRD 2 configuration for your router", exact=True)
    expect(snippet).to_contain_text(f"neighbor 192.0.2.1 as {RS_ASN};")
    expect(snippet).to_contain_text(f"neighbor 2001:db8:ab::1 as {RS_ASN};")
    expect(snippet).to_contain_text(f"local 192.0.2.2 as {MEMBER_ASN};")
    expect(snippet).to_contain_text(f"local 2001:db8:ab::21:3035:1 as {MEMBER_ASN};")
    expect(member.get_by_label("BGP sessions on rs1").get_by_text("IPv4")).to_be_visible()
    check_page(member, "request-active")

    member.goto(f"{ix.url}/dashboard")
    expect(
        member.get_by_role("list", name="Requests").locator("[data-status='active']")
    ).to_be_visible()
    check_page(member, "dashboard")


def test_admin_sees_route_servers_and_the_controller(ix: Ix, admin_page: Page) -> None:
    page = admin_page
    page.get_by_role("link", name="Route servers").first.click()
    expect(page.get_by_role("heading", level=1, name="Route servers")).to_be_visible()
    expect(page.get_by_text("In sync")).to_be_visible(timeout=SLOW)
    expect(page.get_by_role("table", name="BGP sessions on rs1")).to_contain_text(str(MEMBER_ASN))
    check_page(page, "admin-route-servers")

    page.get_by_role("link", name="IRR filtering").first.click()
    expect(page.get_by_role("heading", level=1, name="IRR filtering")).to_be_visible()
    irr_table = page.get_by_role("table", name="Members' IRR data")
    expect(irr_table).to_contain_text(f"AS{MEMBER_ASN}")
    expect(irr_table.get_by_text("IRR filtering off")).to_be_visible()
    check_page(page, "admin-irr")

    page.get_by_role("link", name="Controller").first.click()
    expect(page.get_by_role("heading", level=1, name="ZeroTier controller")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Ready")).to_be_visible()
    expect(page.get_by_text(ix.emulator.address, exact=True)).to_be_visible()
    expect(page.get_by_text("IPv4 (0x0800), ARP (0x0806), IPv6 (0x86DD)")).to_be_visible()
    expect(page.get_by_text("No drift: 1 members on 1 networks match.")).to_be_visible()
    expect(page.get_by_text("No backup in")).to_be_visible()
    check_page(page, "admin-controller")


def test_admin_drains_and_undrains_a_route_server(ix: Ix, admin_page: Page) -> None:
    """Issue 16: drain for maintenance from the route-servers page, then bring it back."""
    page = admin_page
    page.goto(f"{ix.url}/admin/route-servers")
    expect(page.get_by_text("In sync")).to_be_visible(timeout=SLOW)
    confirm(page, "Drain")
    expect(page.get_by_text("Drained", exact=True)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Drained for maintenance")).to_be_visible()
    expect(page.get_by_text("In sync")).to_be_visible(timeout=SLOW)  # applied to BIRD
    check_page(page, "admin-route-servers-drained")
    confirm(page, "Undrain")
    expect(page.get_by_text("Drained", exact=True)).to_be_hidden()
    expect(page.get_by_text("In sync")).to_be_visible(timeout=SLOW)


def test_member_looking_glass_and_session_password(ix: Ix, member_page: Page) -> None:
    """Issue 16: the looking glass on the request page (rs1 runs the member's sessions; the
    member's router is not connected in this story, so every list is empty), and a session
    password that is set but never shown."""
    page = member_page
    page.goto(f"{ix.url}/requests/{Story.active_id}")
    expect_status(page, "active")
    glass = page.get_by_role("heading", name="Looking glass")
    expect(glass).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("No filtered routes.")).to_be_visible()
    page.get_by_role("tab", name="Sent to you").click()
    expect(page.get_by_text("No routes.", exact=True)).to_be_visible()
    page.get_by_label("Look up a prefix").fill("193.0.0.0/21")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("region", name="Lookup of 193.0.0.0/21")).to_be_visible()
    page.get_by_label("Look up a prefix").fill("2001:db8::/32")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_text("That is not a valid prefix for this session.")).to_be_visible()
    check_page(page, "request-looking-glass")

    page.get_by_label("Password", exact=True).fill("Md5.key+42=ok")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_text("Your BGP sessions use a TCP MD5 password.")).to_be_visible()
    snippet = page.get_by_label("BIRD 2 configuration for your router", exact=True)
    expect(snippet).to_contain_text('password "<the session password you set>";')
    expect(page.locator("body")).not_to_contain_text("Md5.key+42=ok")
    page.get_by_role("button", name="Remove password").click()
    expect(page.get_by_text("Optional: protect your BGP sessions")).to_be_visible()


def test_reject_with_a_reason(ix: Ix, admin_page: Page, member_page: Page) -> None:
    Story.rejected_id = submit_request(member_page, ix, NODE_REJECTED)
    page = admin_page
    admin_opens(page, ix, Story.rejected_id)
    # The reason is required.
    page.get_by_role("button", name="Reject", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Reject", exact=True).click()
    expect(dialog.get_by_text("A reason is required")).to_be_visible()
    check_page(page, "admin-reject-dialog")
    dialog.get_by_role("button", name="Keep it").click()
    confirm(page, "Reject", reason="This node ID belongs to a lab router, not a peering router.")
    expect_status(page, "rejected", timeout=10_000)

    member = member_page
    member.goto(f"{ix.url}/requests/{Story.rejected_id}")
    expect_status(member, "rejected")
    expect(member.get_by_text("The IX team declined this request.").first).to_be_visible()
    expect(member.get_by_text("belongs to a lab router, not a peering router.")).to_be_visible()
    expect(member.get_by_role("button", name="Cancel request")).to_have_count(0)
    check_page(member, "request-rejected")


def test_a_controller_failure_is_seen_and_retried(
    ix: Ix, admin_page: Page, member_page: Page
) -> None:
    Story.failing_id = submit_request(member_page, ix, NODE_FAILING)
    token = ix.emulator.token
    ix.emulator.set_token("rotated-behind-ztix-back-0123456789")
    try:
        page = admin_page
        admin_opens(page, ix, Story.failing_id)
        confirm(page, "Approve")
        expect_status(page, "failed")
        alert = page.get_by_role("alert").filter(has_text="Provisioning failed")
        expect(alert).to_contain_text("The ZeroTier controller refused ZT-IX's API token.")
        expect(alert).to_contain_text("controller_auth_failed")
        check_page(page, "admin-request-failed")

        member = member_page
        member.goto(f"{ix.url}/requests/{Story.failing_id}")
        expect_status(member, "failed")
        expect(
            member.get_by_text(re.compile("will retry once it is fixed. Nothing to do"))
        ).to_be_visible()
        check_page(member, "request-failed")

        page.goto(f"{ix.url}/admin/controller")
        expect(page.get_by_role("status").filter(has_text="Not ready")).to_be_visible(timeout=SLOW)
    finally:
        ix.emulator.set_token(token)

    page.goto(f"{ix.url}/admin/requests/{Story.failing_id}")
    confirm(page, "Retry")
    expect_status(page, "active")
    expect(page.get_by_text("failed → approved")).to_be_visible()


def test_member_leaves_the_ix(ix: Ix, member_page: Page) -> None:
    page = member_page
    page.goto(f"{ix.url}/requests/{Story.active_id}")
    expect_status(page, "active")
    page.get_by_role("button", name="Leave the IX").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(NODE_ACTIVE)
    check_page(page, "request-leave-dialog")
    dialog.get_by_role("button", name="Leave the IX").click()
    expect_status(page, "removed")
    expect(page.get_by_text("Your router has left the IX.")).to_be_visible()
    expect(page.get_by_role("heading", name="Your place on the peering LAN")).to_have_count(0)


def test_someone_elses_request_is_not_found(ix: Ix, browser: Browser) -> None:
    context = _context(browser)
    page = context.new_page()
    login_local(page, ix.url, "bob")
    expect(page.get_by_text("No requests yet")).to_be_visible()
    page.goto(f"{ix.url}/requests/{Story.failing_id}")
    expect(page.get_by_role("heading", level=1, name="Not found")).to_be_visible()
    expect(
        page.get_by_text("This request does not exist, or it is not yours to see.")
    ).to_be_visible()
    expect(page.get_by_text(NODE_FAILING)).to_have_count(0)
    check_page(page, "not-found")

    page.goto(f"{ix.url}/admin/requests")  # not an admin: the page does not exist for bob
    expect(page.get_by_role("heading", level=1, name="Not found")).to_be_visible()
    page.goto(f"{ix.url}/no/such/page")
    expect(page.get_by_role("heading", level=1, name="Not found")).to_be_visible()
    context.close()


def test_an_expired_session_goes_to_login_and_back(ix: Ix, browser: Browser) -> None:
    context = _context(browser)
    page = context.new_page()
    login_local(page, ix.url, "admin")
    page.goto(f"{ix.url}/admin/requests?status=active")
    expect(page.get_by_role("button", name=re.compile(r"^Active \d+$"))).to_have_attribute(
        "aria-pressed", "true"
    )
    context.clear_cookies()  # as if the server had ended the session
    page.get_by_role("button", name=re.compile(r"^Pending \d+$")).click()  # next fetch: 401
    expect(page).to_have_url(re.compile(r"/login\?next=.*reason=expired"))
    expect(page.get_by_text("Your session has expired.")).to_be_visible()
    check_page(page, "login-expired")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/requests\?status=active&status=pending$"))
    context.close()


def test_peeringdb_login_failures_read_as_sentences(ix: Ix, browser: Browser) -> None:
    context = _context(browser)
    page = context.new_page()
    ix.peeringdb.deny_authorization = True
    try:
        page.goto(f"{ix.url}/login")
        page.get_by_role("button", name="Log in with PeeringDB").click()
        expect(page.get_by_role("heading", name="PeeringDB login did not finish")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text(
            "PeeringDB did not complete the login (it was refused or cancelled)."
        )
        check_page(page, "auth-callback-error")
        page.get_by_role("link", name="Back to log in").click()
        expect(page.get_by_role("heading", level=1, name="Log in")).to_be_visible()
    finally:
        ix.peeringdb.deny_authorization = False
    context.close()
