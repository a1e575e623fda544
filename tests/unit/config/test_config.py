"""Configuration: YAML + environment, validated with the key's path and reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from tests.support.app import ROOT
from ztix.config import ConfigError, Settings, load_settings

EXAMPLE = ROOT / "runtime-config.example.yaml"


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_example_file_is_valid_and_documents_every_key() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.networks[0].suffix == "000001"
    assert settings.networks[0].network_id("8056c2e21c") == "8056c2e21c000001"
    document = yaml.safe_load(EXAMPLE.read_text())

    def walk(model: type[BaseModel], doc: dict[str, Any], prefix: str) -> list[str]:
        missing = []
        for name, field in model.model_fields.items():
            if name not in doc:
                missing.append(prefix + name)
                continue
            annotation = field.annotation
            nested = isinstance(annotation, type) and issubclass(annotation, BaseModel)
            if nested and isinstance(doc[name], dict):
                assert isinstance(annotation, type)
                missing += walk(annotation, doc[name], f"{prefix}{name}.")
        return missing

    assert walk(Settings, document, "") == []


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, {"workflow": {"aproval_mode": "manual_admin"}})
    with pytest.raises(ConfigError, match=r"workflow\.aproval_mode: unknown key"):
        load_settings(path)


def test_bad_value_is_named_with_reason(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "networks": [
                {
                    "zt_network_id": "xyz",
                    "name": "n",
                    "ipv4_prefix": "192.0.2.0/24",
                    "ipv6_prefix": "2001:db8::/64",
                }
            ]
        },
    )
    with pytest.raises(ConfigError, match=r"networks\.0\.zt_network_id: .*16 hexadecimal"):
        load_settings(path)


def test_bad_prefix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "networks": [
                {
                    "zt_network_id": "8056c2e21c000001",
                    "name": "n",
                    "ipv4_prefix": "192.0.2.1/24",
                    "ipv6_prefix": "2001:db8::/64",
                }
            ]
        },
    )
    with pytest.raises(ConfigError, match=r"networks\.0\.ipv4_prefix"):
        load_settings(path)


def test_environment_overrides_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path, {"workflow": {"approval_mode": "manual_admin", "allow_private_asns": True}}
    )
    monkeypatch.setenv("ZTIX_WORKFLOW__APPROVAL_MODE", "policy_auto")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/ztix")
    settings = load_settings(path)
    assert settings.workflow.approval_mode.value == "policy_auto"
    assert settings.workflow.allow_private_asns is True  # nested keys merge, not replace
    assert settings.database_url == "postgresql://db.example/ztix"


def test_bad_environment_value_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZTIX_SERVER__PORT", "99999")
    with pytest.raises(ConfigError, match=r"server\.port"):
        load_settings(EXAMPLE)


def test_secret_from_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t-value\n")
    monkeypatch.setenv("ZTIX_PEERINGDB__CLIENT_SECRET_FILE", str(secret))
    settings = load_settings(EXAMPLE)
    assert settings.peeringdb.client_secret.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(settings)


def test_unreadable_secret_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZTIX_PEERINGDB__CLIENT_SECRET_FILE", "/nonexistent/secret")
    with pytest.raises(ConfigError, match="CLIENT_SECRET_FILE"):
        load_settings(EXAMPLE)


def test_production_cookies_are_secure() -> None:
    assert load_settings(EXAMPLE, environment="production").cookie_secure is True
    assert load_settings(EXAMPLE).cookie_secure is False
    with pytest.raises(ConfigError, match="cookie_secure"):
        load_settings(EXAMPLE, environment="production", auth={"cookie_secure": False})


def test_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("networks: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(path)


NET = {"name": "n", "ipv4_prefix": "192.0.2.0/24", "ipv6_prefix": "2001:db8::/64"}


def test_network_by_id_or_suffix(tmp_path: Path) -> None:
    for both_or_neither in ({}, {"zt_network_id": "8056c2e21c000001", "suffix": "000001"}):
        with pytest.raises(ConfigError, match="exactly one of zt_network_id and suffix"):
            load_settings(write(tmp_path, {"networks": [{**NET, **both_or_neither}]}))
    with pytest.raises(ConfigError, match=r"networks\.0\.suffix"):
        load_settings(write(tmp_path, {"networks": [{**NET, "suffix": "12345"}]}))
    settings = load_settings(
        write(
            tmp_path,
            {
                "networks": [
                    {**NET, "suffix": "ABCDEF"},
                    {**NET, "zt_network_id": "8056c2e21c000002"},
                ]
            },
        )
    )
    assert settings.network_config("1122334455abcdef") is settings.networks[0]
    assert settings.network_config("8056c2e21c000002") is settings.networks[1]
    assert settings.network_config("8056c2e21c000003") is None
    with pytest.raises(ConfigError, match="declared twice"):
        load_settings(
            write(
                tmp_path, {"networks": [{**NET, "suffix": "000002"}, {**NET, "suffix": "000002"}]}
            )
        )


def test_reserved_addresses_must_be_inside_the_prefixes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="outside"):
        load_settings(
            write(
                tmp_path,
                {"networks": [{**NET, "suffix": "000001", "reserved_addresses": ["198.51.100.1"]}]},
            )
        )


@pytest.mark.parametrize(
    ("prefixes", "message"),
    [
        (
            {"ipv4_prefix": "192.0.2.0/31"},
            r"networks\.0\.ipv4_prefix: Value error, an IPv4 peering LAN must be /30 or larger",
        ),
        (
            {"ipv6_prefix": "2001:db8::/65"},
            r"networks\.0\.ipv6_prefix: Value error, an IPv6 peering LAN must be /64 or larger",
        ),
    ],
)
def test_peering_lan_too_small(tmp_path: Path, prefixes: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, {"networks": [{**NET, "suffix": "000001", **prefixes}]}))
    smallest = {"ipv4_prefix": "192.0.2.0/30", "ipv6_prefix": "2001:db8::/64"}
    load_settings(write(tmp_path, {"networks": [{**NET, "suffix": "000001", **smallest}]}))


def test_reserved_addresses_take_ranges_and_prefixes(tmp_path: Path) -> None:
    net = {
        **NET,
        "suffix": "000001",
        "reserved_addresses": ["192.0.2.2 - 192.0.2.9", "2001:db8::/120", "192.0.2.200"],
    }
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"networks": [net]}))
    settings = load_settings(cfg)
    declared = settings.networks[0]
    assert declared.reserved_addresses == (
        "192.0.2.2-192.0.2.9",
        "2001:db8::-2001:db8::ff",
        "192.0.2.200",
    )
    assert sum(block.size for block in declared.reserved) == 8 + 256 + 1
    for bad, words in [
        (["192.0.2.250-198.51.100.1"], "outside"),
        (["192.0.2.9-192.0.2.2"], "ends before it starts"),
    ]:
        cfg.write_text(yaml.safe_dump({"networks": [{**net, "reserved_addresses": bad}]}))
        with pytest.raises(ConfigError, match=words):
            load_settings(cfg)
