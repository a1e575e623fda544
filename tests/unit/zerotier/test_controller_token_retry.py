"""What one refused call does with the token file (issue 13): it follows a token file that
rotates again during the retry, and stops as soon as the file holds the token just refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ztix.zerotier.controller import TOKEN_TRIES, ControllerProvider, ControllerSettings
from ztix.zerotier.provider import ProviderAuthFailed

STATUS = {"address": "8056c2e21c", "version": "1.14.1", "online": True}


def _provider(
    tmp_path: Path, accepted: str, rotations: dict[str, str]
) -> tuple[ControllerProvider, list[str]]:
    """A controller that accepts ``accepted`` only; a call made with a token named in
    ``rotations`` rotates the file to the mapped token while it is refused."""
    token_file = tmp_path / "authtoken.secret"
    token_file.write_text("t1\n")
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200, json={"online": True})
        token = request.headers["X-ZT1-Auth"]
        seen.append(token)
        if token == accepted:
            return httpx.Response(200, json=STATUS)
        if token in rotations:
            token_file.write_text(rotations[token] + "\n")
        return httpx.Response(401, json={})

    settings = ControllerSettings(url="http://controller.test", token_file=token_file)
    return ControllerProvider(settings, transport=httpx.MockTransport(handler)), seen


def test_a_token_rotated_twice_in_flight_is_followed(tmp_path: Path) -> None:
    zt, seen = _provider(tmp_path, "t3", {"t1": "t2", "t2": "t3"})
    with zt:
        assert zt.status().address == "8056c2e21c"
        assert seen == ["t1", "t2", "t3"]
        assert zt.status().online  # the working token is kept
    assert seen == ["t1", "t2", "t3", "t3"]


def test_a_refused_token_that_the_file_still_holds_stands(tmp_path: Path) -> None:
    zt, seen = _provider(tmp_path, "never", {"t1": "t2"})
    with zt, pytest.raises(ProviderAuthFailed):
        zt.status()
    # t1 refused, the file now says t2: tried once; t2 refused, the file still says t2: stop.
    assert seen == ["t1", "t2"]
    assert len(seen) <= TOKEN_TRIES


def test_tries_are_bounded_while_the_file_keeps_changing(tmp_path: Path) -> None:
    rotations = {f"t{i}": f"t{i + 1}" for i in range(1, 20)}
    zt, seen = _provider(tmp_path, "never", rotations)
    with zt, pytest.raises(ProviderAuthFailed):
        zt.status()
    assert len(seen) == TOKEN_TRIES
