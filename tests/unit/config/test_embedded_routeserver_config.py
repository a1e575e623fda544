"""routeservers.embedded: off by default; when on, its route server and RTR validator are
served like configured ones, and the environment can turn it off (what `ztix serve` does
where BIRD cannot run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ztix.config import ConfigError, RouteServersConfig, load_settings

NETWORK = {
    "suffix": "000001",
    "name": "Demo",
    "ipv4_prefix": "192.0.2.0/24",
    "ipv6_prefix": "2001:db8:ab::/64",
}


def routeservers(**section: Any) -> RouteServersConfig:
    return load_settings(None, networks=[NETWORK], routeservers=section).routeservers


def test_off_by_default() -> None:
    conf = routeservers()
    assert conf.embedded.enabled is False
    assert conf.servers == () and conf.rpki_validators == ()


def test_on_it_is_a_local_route_server_with_its_validator(tmp_path: Path) -> None:
    conf = routeservers(embedded={"enabled": True, "state_dir": str(tmp_path / "rs")})
    (server,) = conf.servers
    assert (server.name, server.transport, server.asn, server.bgp_port) == (
        "rs-embedded",
        "local",
        64500,
        1179,
    )
    assert server.birdc_socket == tmp_path / "rs" / "bird.ctl"
    assert server.config_dir == tmp_path / "rs" / "ztix" / "live"
    assert server.main_config == tmp_path / "rs" / "bird.conf"
    (validator,) = conf.rpki_validators
    assert (validator.host, validator.port) == ("127.0.0.1", 3323)


def test_a_relative_state_dir_is_made_absolute() -> None:
    (server,) = routeservers(embedded={"enabled": True}).servers
    assert server.birdc_socket == Path("var/routeserver/bird.ctl").absolute()


def test_without_rtr_port_no_validator() -> None:
    conf = routeservers(embedded={"enabled": True, "rtr_port": 0})
    assert len(conf.servers) == 1 and conf.rpki_validators == ()


def test_its_name_must_not_clash_with_a_configured_server() -> None:
    rs1 = {
        "name": "rs-embedded",
        "transport": "local",
        "asn": 64501,
        "router_id": "192.0.2.3",
        "network": "000001",
        "ipv4": "192.0.2.3",
        "ipv6": "2001:db8:ab::3",
    }
    with pytest.raises(ConfigError, match="unique"):
        routeservers(servers=[rs1], embedded={"enabled": True})


def test_its_addresses_must_be_in_its_network() -> None:
    with pytest.raises(ConfigError, match="outside"):
        routeservers(embedded={"enabled": True, "ipv4": "198.51.100.1"})


def test_the_environment_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZTIX_ROUTESERVERS__EMBEDDED__ENABLED", "false")
    assert routeservers(embedded={"enabled": True}).servers == ()
