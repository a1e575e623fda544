"""Fixtures shared by the route-server renderer's tests."""

from __future__ import annotations

from typing import Any

import pytest

from ztix.routeserver import render as render_module


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The request IDs of the members the renderer renders, in order (the render cache's
    tests: which members a pass rendered again)."""
    seen: list[str] = []
    real_peer = render_module._peer

    def counted(peer: Any, server: Any) -> Any:
        seen.append(peer.request_id)
        return real_peer(peer, server)

    monkeypatch.setattr(render_module, "_peer", counted)
    return seen
