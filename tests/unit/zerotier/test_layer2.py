"""The IX layer-2 body and drift detection (pure)."""

from __future__ import annotations

import copy
from typing import Any

from ztix.config import NetworkConfig
from ztix.zerotier import layer2
from ztix.zerotier.emulator import apply_network_post

CONF = NetworkConfig(
    suffix="000001",
    name="ZT-IX Frankfurt",
    ipv4_prefix="192.0.2.0/24",  # type: ignore[arg-type]
    ipv6_prefix="2001:db8:ab::/64",  # type: ignore[arg-type]
)

GOLDEN: dict[str, Any] = {
    "name": "ZT-IX Frankfurt",
    "private": True,
    "mtu": 1500,
    "routes": [
        {"target": "192.0.2.0/24", "via": None},
        {"target": "2001:db8:ab::/64", "via": None},
    ],
    "v4AssignMode": {"zt": False},
    "v6AssignMode": {"zt": False, "rfc4193": False, "6plane": False},
    "multicastLimit": 32,
    "rules": [
        {"type": "MATCH_ETHERTYPE", "not": True, "or": False, "etherType": 0x0800},
        {"type": "MATCH_ETHERTYPE", "not": True, "or": False, "etherType": 0x0806},
        {"type": "MATCH_ETHERTYPE", "not": True, "or": False, "etherType": 0x86DD},
        {"type": "ACTION_DROP"},
        {"type": "ACTION_ACCEPT"},
    ],
}


def stored(body: dict[str, Any]) -> dict[str, Any]:
    """The network as the controller (emulator) stores a freshly posted body."""
    network: dict[str, Any] = {}
    apply_network_post(network, copy.deepcopy(body), "8056c2e21c000001")
    return network


def test_desired_network_is_the_golden_body() -> None:
    assert layer2.desired_network(CONF) == GOLDEN


def test_the_controller_stores_the_desired_body_without_drift() -> None:
    network = stored(layer2.desired_network(CONF))
    assert layer2.drift(network, layer2.desired_network(CONF)) == []
    # What the controller actually keeps for the rules: actions carry no flags.
    assert network["rules"][3] == {"type": "ACTION_DROP"}
    assert network["rules"][0] == {
        "type": "MATCH_ETHERTYPE",
        "etherType": 2048,
        "not": True,
        "or": False,
    }


def test_a_default_network_differs_in_every_ix_setting() -> None:
    network = stored({"name": "ZT-IX Frankfurt"})
    changes = layer2.drift(network, layer2.desired_network(CONF))
    assert [c.field for c in changes] == ["mtu", "routes", "rules"]
    mtu = changes[0]
    assert (mtu.old, mtu.new) == (2800, 1500)
    assert mtu.describe() == "mtu: 2800 -> 1500"


def test_each_managed_field_is_named_with_old_and_new() -> None:
    desired = layer2.desired_network(CONF)
    actual = stored(desired)
    actual.update(
        name="renamed",
        private=False,
        mtu=2800,
        v4AssignMode={"zt": True},
        v6AssignMode={"zt": False, "rfc4193": True, "6plane": False},
        multicastLimit=0,
        rules=[{"type": "ACTION_ACCEPT", "not": False, "or": False}],
        routes=[{"target": "192.0.2.0/24", "via": None}],
    )
    changes = {c.field: c for c in layer2.drift(actual, desired)}
    assert list(changes) == list(layer2.MANAGED_FIELDS)
    assert changes["private"].old is False and changes["private"].new is True
    assert changes["v6AssignMode"].old["rfc4193"] is True
    assert changes["routes"].new == desired["routes"]
    assert layer2.correction(list(changes.values())) == desired


def test_routes_compare_without_order() -> None:
    desired = layer2.desired_network(CONF)
    actual = stored(desired)
    actual["routes"] = list(reversed(actual["routes"]))
    assert layer2.drift(actual, desired) == []


def test_a_route_with_a_gateway_is_drift() -> None:
    desired = layer2.desired_network(CONF)
    actual = stored(desired)
    actual["routes"][0]["via"] = "192.0.2.1"
    assert [c.field for c in layer2.drift(actual, desired)] == ["routes"]


def test_rule_order_matters() -> None:
    desired = layer2.desired_network(CONF)
    actual = stored(desired)
    actual["rules"] = [actual["rules"][-1], *actual["rules"][:-1]]
    assert [c.field for c in layer2.drift(actual, desired)] == ["rules"]


def test_missing_flags_and_assign_mode_keys_mean_false() -> None:
    desired = layer2.desired_network(CONF)
    actual = stored(desired)
    actual["v6AssignMode"] = {"zt": False}  # the controller keeps only the keys it was sent
    actual["rules"][-1] = {"type": "ACTION_ACCEPT", "not": False, "or": False}
    assert layer2.drift(actual, desired) == []


def test_types_count() -> None:
    desired = layer2.desired_network(CONF)
    actual = stored(desired)
    actual["mtu"] = "1500"
    actual["private"] = 1
    assert [c.field for c in layer2.drift(actual, desired)] == ["private", "mtu"]


def test_a_missing_field_is_drift() -> None:
    desired = layer2.desired_network(CONF)
    actual = stored(desired)
    del actual["rules"]
    (change,) = layer2.drift(actual, desired)
    assert (change.field, change.old) == ("rules", None)
