"""A small `make lab` (issue 20): one route server and two member routers in network
namespaces on a bridge, the members filed and approved through the API. Every BGP session
comes up Established; the route server keeps the refused routes with their reasons; a member
sees its live sessions in the web app (screenshots with ZTIX_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import check_page
from tests.support.e2e import require_tools
from tests.support.services import free_port
from ztix.lab import netns, plan, runner
from ztix.lab.client import ApiSession

ALPHA = plan.ALPHA


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[plan.Plan, runner.State]]:
    require_tools()
    runner.require()
    root = Path(tempfile.mkdtemp(prefix="ztlab-", dir="/tmp")) / "lab"
    small = plan.small(root, f"zte{os.getpid() % 10000:04d}", free_port(), free_port())
    lines: list[str] = []
    try:
        yield small, runner.up(small, lines.append, timeout=150)
    finally:
        runner.down(small, lines.append)
        root.parent.rmdir()


def test_sessions_come_up_and_refused_routes_keep_their_reason(
    lab: tuple[plan.Plan, runner.State],
) -> None:
    small, _state = lab
    views = {v.name: v for v in runner.views(small)}
    assert set(views) == {"alpha", "bravo"}
    for view in views.values():
        assert view.sessions, view
        assert all(s.established for s in view.sessions), view.sessions
    # alpha announces 7 prefixes; the policy refuses 4, each tagged with its reason.
    assert views["alpha"].refused == {
        "193.0.8.0/23": "rpki invalid",
        "203.0.113.0/24": "bogon",
        "193.0.12.0/25": "prefix length",
        "2001:db8:1::/48": "bogon",
    }
    assert views["bravo"].refused["104.20.0.0/24"] == "rpki invalid"
    accepted = {s.protocol[-2:]: s.accepted for s in views["alpha"].sessions}
    assert accepted == {"v4": 2, "v6": 1}


def test_the_member_sees_its_sessions_established(
    lab: tuple[plan.Plan, runner.State], browser: Browser
) -> None:
    small, state = lab
    password = state.passwords[ALPHA.username]
    request_id = state.requests[ALPHA.name]
    with ApiSession(small.url, ALPHA.username, password) as noc:
        servers = noc.get(f"/api/v1/requests/{request_id}/route-servers")
    assert [s["name"] for s in servers] == ["rs1"]
    assert {s["bgp_state"] for s in servers[0]["sessions"]} == {"Established"}

    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        reduced_motion="reduce",
        locale="en-GB",
        bypass_csp=True,  # lets the test inject axe-core
    )
    page: Page = context.new_page()
    try:
        page.goto(f"{small.url}/login")
        page.get_by_label("Username").fill(ALPHA.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in", exact=True).click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        page.goto(f"{small.url}/requests/{request_id}")
        sessions = page.get_by_label("BGP sessions on rs1")
        expect(sessions.get_by_text("Established")).to_have_count(2)
        expect(sessions.get_by_text(re.compile(r"2 accepted · 3 filtered"))).to_be_visible()
        expect(page.get_by_text("configuration applied")).to_be_visible()
        check_page(page, "lab-request-live-sessions")
        page.goto(f"{small.url}/dashboard")
        expect(page.get_by_role("list", name="Requests")).to_be_visible()
        check_page(page, "lab-dashboard")
    finally:
        context.close()
    assert netns.namespaces(small.prefix)


def test_the_admin_reads_any_members_looking_glass_from_the_route_servers_page(
    lab: tuple[plan.Plan, runner.State], browser: Browser
) -> None:
    """Issue 16: on the admin route-servers page each member session opens the looking glass
    on live BIRD: alpha's refused routes with their reasons in words, the routes rs1 sends
    alpha (bravo's), and a prefix lookup."""
    small, state = lab
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        reduced_motion="reduce",
        locale="en-GB",
        bypass_csp=True,  # lets the test inject axe-core
    )
    page: Page = context.new_page()
    alpha_v4 = f"AS{ALPHA.asn}_{ALPHA.node_id}_v4"
    try:
        page.goto(f"{small.url}/login")
        page.get_by_label("Username").fill(small.admin_username)
        page.get_by_label("Password").fill(state.passwords[small.admin_username])
        page.get_by_role("button", name="Log in", exact=True).click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        page.goto(f"{small.url}/admin/route-servers")
        opener = page.get_by_role("button", name=f"Routes of {alpha_v4}")
        opener.click()
        expect(opener).to_have_attribute("aria-expanded", "true")
        glass = page.get_by_role("region", name=f"Looking glass of {alpha_v4}")
        filtered = glass.get_by_role("table", name="filtered routes")
        expect(filtered.get_by_role("row").filter(has_text="193.0.8.0/23")).to_contain_text(
            "RPKI invalid"
        )
        expect(filtered.get_by_role("row").filter(has_text="203.0.113.0/24")).to_contain_text(
            "prefix is a bogon"
        )
        expect(glass.get_by_role("link", name="Open the member's request")).to_have_attribute(
            "href", f"/admin/requests/{state.requests[ALPHA.name]}"
        )
        check_page(page, "lab-admin-looking-glass")
        glass.get_by_role("tab", name="Sent to the member").click()
        expect(glass.get_by_role("table", name="exported routes")).to_contain_text("104.16.0.0")
        glass.get_by_label("Look up a prefix").fill("193.0.12.0/25")
        glass.get_by_role("button", name="Look up").click()
        found = glass.get_by_role("region", name="Lookup of 193.0.12.0/25")
        expect(found).to_contain_text("prefix length outside the allowed range")
        # The member's request, from the link: the same looking glass, worded for the admin.
        glass.get_by_role("link", name="Open the member's request").click()
        expect(page.get_by_role("heading", name="Looking glass")).to_be_visible()
        expect(
            page.get_by_text("What the route servers did with this member's routes")
        ).to_be_visible()
        expect(page.get_by_role("tab", name="Sent to the member")).to_be_visible()
        expect(page.get_by_role("table", name="filtered routes")).to_contain_text("RPKI invalid")
    finally:
        context.close()
