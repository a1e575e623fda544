"""The interactive API reference (/api/v1/docs) in Chromium under the real
Content-Security-Policy: the Swagger UI assets come from the Python package, nothing from a
CDN, no inline script, and the page renders the operations."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.support.e2e import Ix


def test_the_api_reference_renders_the_operations_under_the_csp(ix: Ix, browser: Browser) -> None:
    # No bypass_csp: the page must work under the policy the server sends.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = context.new_page()
    refused: list[str] = []
    outside: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith(ix.url) or r.url.startswith("data:") else outside.append(r.url)
        ),
    )
    response = page.goto(f"{ix.url}/api/v1/docs")
    assert response is not None and response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="ZT-IX")).to_be_visible()
    # Operations appear by their operation ID's summary line and path.
    expect(
        page.locator(".opblock-summary-path", has_text="/api/v1/admin/requests").first
    ).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 20
    # Opening one shows its parameters, rendered by the script, not just the static HTML.
    page.locator(".opblock-summary-path", has_text="/api/v1/admin/audit").first.click()
    expect(page.get_by_text("Parameters").first).to_be_visible()
    assert refused == [], refused
    assert outside == [], outside
    context.close()


def test_the_assets_are_served_by_name_only(ix: Ix, browser: Browser) -> None:
    context = browser.new_context()
    for name, status in [
        ("swagger-ui-bundle.js", 200),
        ("init.js", 200),
        ("..%2F..%2Fopenapi.json", 404),
        ("index.html", 404),
    ]:
        answer = context.request.get(f"{ix.url}/api/v1/docs/assets/{name}")
        assert answer.status == status, name
    context.close()
