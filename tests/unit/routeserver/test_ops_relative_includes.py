"""Rendered includes relative to a configurable base directory (issue 18): absolute by
default (the goldens are unchanged); with ``include_base`` the host's bird.conf names
ZT-IX's file relative to its own directory and ztix.conf names ``peers`` relative to its
own. Real BIRD parses both forms: tests/integration/test_routeserver_bird_parse.py."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from tests.support import routeserver_samples as samples
from tests.support.app import NWID
from ztix.config.routeservers import RouteServerConfig
from ztix.domain.routeserver import DesiredConfig
from ztix.routeserver.render import render, render_host_config
from ztix.routeserver.tokens import RelativeConfigPath, RenderError

RS = {"name": "rs1", "transport": "local", "asn": 6695, "router_id": "192.0.2.1"}
RS |= {"network": NWID, "ipv4": "192.0.2.1", "ipv6": "2001:db8:ab::1"}


def _with_base(config_dir: str, base: str | None) -> DesiredConfig:
    desired = samples.basic()
    server = dataclasses.replace(desired.server, config_dir=config_dir, include_base=base)
    return DesiredConfig(server=server, peers=desired.peers)


def test_absolute_by_default() -> None:
    desired = _with_base("/etc/bird/ztix/live", None)
    assert 'include "/etc/bird/ztix/live/ztix.conf";' in render_host_config(desired.server)
    assert 'include "/etc/bird/ztix/live/peers/*.conf";' in render(desired)["ztix.conf"]


@pytest.mark.parametrize(
    ("config_dir", "base", "main_include"),
    [
        ("/etc/bird/ztix/live", "/etc/bird", "ztix/live/ztix.conf"),
        ("/etc/bird/ztix/live/", "/etc/bird/", "ztix/live/ztix.conf"),
        ("/var/lib/ztix/live", "/etc/bird", "../../var/lib/ztix/live/ztix.conf"),
    ],
)
def test_relative_to_the_base(config_dir: str, base: str, main_include: str) -> None:
    desired = _with_base(config_dir, base)
    assert f'include "{main_include}";' in render_host_config(desired.server)
    assert 'include "peers/*.conf";' in render(desired)["ztix.conf"]


@pytest.mark.parametrize("good", ["peers", "ztix/ztix.conf", "../../srv/ztix/ztix.conf"])
def test_relative_paths(good: str) -> None:
    assert RelativeConfigPath(good) == good


@pytest.mark.parametrize(
    "bad", ["/etc/bird", "a/../b", "./a", "a/./b", "a b", 'a"b', "a/", "", "../"]
)
def test_what_a_relative_path_refuses(bad: str) -> None:
    with pytest.raises(RenderError):
        RelativeConfigPath(bad)


def test_the_base_is_an_absolute_directory() -> None:
    assert RouteServerConfig(**RS).include_base is None
    assert str(RouteServerConfig(**RS, include_base="/etc/bird").include_base) == "/etc/bird"
    with pytest.raises(ValidationError, match="absolute path"):
        RouteServerConfig(**RS, include_base="etc/bird")
