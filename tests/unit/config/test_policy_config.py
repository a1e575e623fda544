"""The `policy` section and the networks' policy keys in the runtime config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.app import ROOT
from ztix.config import ConfigError, load_settings
from ztix.domain.policy import AsnRange

EXAMPLE = ROOT / "runtime-config.example.yaml"
NETWORK = {
    "zt_network_id": "8056c2e21c000001",
    "name": "n",
    "ipv4_prefix": "192.0.2.0/24",
    "ipv6_prefix": "2001:db8::/64",
}


def load(tmp_path: Path, data: dict[str, Any]) -> Any:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_settings(path)


def test_defaults_are_permissive_and_documented() -> None:
    settings = load_settings(EXAMPLE)
    policy = settings.policy
    assert policy.allowed_asns == () and policy.denied_asns == ()
    assert not policy.peeringdb.require_record
    assert policy.peeringdb.on_failure == "review"
    assert policy.auto_approval.required_peeringdb_perms == 2
    assert policy.auto_approval.max_per_asn_per_day is None
    assert settings.networks[0].allowed_asns == ()
    assert settings.networks[0].manual_approval is False
    document = yaml.safe_load(EXAMPLE.read_text())
    # Network entries are a list, which the generic every-key test does not walk into.
    assert {"allowed_asns", "manual_approval"} <= set(document["networks"][0])


def test_lists_of_asns_and_ranges(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        {
            "policy": {
                "allowed_asns": [3320, "AS13335", "3320-3330", "AS64496-AS64511"],
                "denied_asns": ["3325"],
                "peeringdb": {"min_policy_general": "Restrictive", "on_failure": "deny"},
                "auto_approval": {"required_peeringdb_perms": 6, "max_per_asn_per_day": 5},
            },
            "networks": [{**NETWORK, "allowed_asns": ["213035"], "manual_approval": True}],
        },
    )
    assert settings.policy.allowed_asns == (
        AsnRange(3320, 3320),
        AsnRange(13335, 13335),
        AsnRange(3320, 3330),
        AsnRange(64496, 64511),
    )
    assert settings.policy.denied_asns == (AsnRange(3325, 3325),)
    assert settings.networks[0].allowed_asns == (AsnRange(213035, 213035),)
    assert settings.networks[0].manual_approval is True


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {"policy": {"denied_asns": [3320, "3330-3320"]}},
            r"policy\.denied_asns\.1: .*ends before",
        ),
        ({"policy": {"allowed_asns": ["AS-FOO"]}}, r"policy\.allowed_asns\.0: .*not an ASN"),
        ({"policy": {"allowed_asns": [0]}}, r"policy\.allowed_asns\.0: .*outside"),
        ({"policy": {"peeringdb": {"min_policy_general": "Sometimes"}}}, "min_policy_general"),
        ({"policy": {"peeringdb": {"on_failure": "ignore"}}}, r"policy\.peeringdb\.on_failure"),
        ({"policy": {"auto_approval": {"required_peeringdb_perms": 0}}}, "required_peeringdb"),
        ({"policy": {"auto_approval": {"max_per_asn_per_day": 0}}}, "max_per_asn_per_day"),
        ({"policy": {"allow_asns": []}}, r"policy\.allow_asns: unknown key"),
        (
            {"networks": [{**NETWORK, "allowed_asns": ["x"]}]},
            r"networks\.0\.allowed_asns\.0: .*not an ASN",
        ),
    ],
)
def test_bad_policy_is_named(tmp_path: Path, data: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        load(tmp_path, data)


def test_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZTIX_POLICY__DENIED_ASNS", '["3320-3330", 174]')
    monkeypatch.setenv("ZTIX_POLICY__AUTO_APPROVAL__MAX_PER_ASN_PER_DAY", "3")
    settings = load_settings(EXAMPLE)
    assert settings.policy.denied_asns == (AsnRange(3320, 3330), AsnRange(174, 174))
    assert settings.policy.auto_approval.max_per_asn_per_day == 3
