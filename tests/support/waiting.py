"""Polling until something holds, for tests that drive real processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    what: str, probe: Callable[[], T | None], timeout: float = 30, every: float = 0.1
) -> T:
    """Poll ``probe`` until it returns something truthy (which is returned); fail naming
    ``what`` and the last answer on timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last probe: {last!r}")
