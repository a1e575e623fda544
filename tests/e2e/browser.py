"""Helpers of the browser tests: axe-core checks, screenshots, logging in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery staple"
PNGQUANT = shutil.which("pngquant") or "/usr/bin/pngquant"
SCREENSHOTS = ROOT / "docs" / "screenshots"
# docs/screenshots/ is rewritten only when asked (`make screenshots`), so a test run leaves
# the committed pictures alone; the axe checks and page assertions run either way.
WRITE_SCREENSHOTS = os.environ.get("ZTIX_SCREENSHOTS") == "1"
WIDTHS = {1280: 800, 375: 812}
BLOCKING = ("serious", "critical")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.x A/AA violations axe-core finds on the current page."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        """async () => await window.axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                             'best-practice']},
            resultTypes: ['violations'],
        })"""
    )
    return [v for v in result["violations"] if v.get("impact") in BLOCKING]


def assert_accessible(page: Page, name: str) -> None:
    found = axe_violations(page)
    summary = [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in found
    ]
    assert not found, f"axe on {name}: " + json.dumps(summary, indent=1)


def settle(page: Page) -> None:
    """Wait until the page shows content, not loading skeletons, and fonts are in."""
    page.wait_for_load_state("networkidle")
    expect(page.locator("[aria-busy='true']")).to_have_count(0)
    page.evaluate("() => document.fonts.ready")


def check_page(page: Page, name: str) -> None:
    """axe at both widths, and with ZTIX_SCREENSHOTS=1 a screenshot of each into
    docs/screenshots/."""
    original = page.viewport_size
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        settle(page)
        page.wait_for_timeout(150)  # layout after the resize
        assert_accessible(page, f"{name} at {width}px")
        if WRITE_SCREENSHOTS:
            _shoot(page, SCREENSHOTS / f"{name}-{width}.png", height)
    if original:
        page.set_viewport_size(original)


def _shoot(page: Page, path: Path, height: int) -> None:
    # Full page, but capped: the top of a long page is what tells what the page is.
    path.parent.mkdir(parents=True, exist_ok=True)
    full = page.evaluate("() => document.documentElement.scrollHeight")
    cap = min(int(full), height * 2)
    page.screenshot(
        path=str(path),
        full_page=True,
        clip={"x": 0, "y": 0, "width": page.viewport_size["width"], "height": cap}
        if page.viewport_size
        else None,
        animations="disabled",
        caret="hide",
        style="[data-sonner-toaster] { display: none !important; }",
    )
    # 256-colour palettes keep the committed PNGs small (the marble gradients are not).
    subprocess.run(
        [PNGQUANT, "--force", "--skip-if-larger", "--quality=70-95", "--ext", ".png", str(path)],
        check=False,
        capture_output=True,
    )


def login_local(page: Page, base_url: str, username: str, *, next_path: str = "") -> None:
    page.goto(f"{base_url}/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
