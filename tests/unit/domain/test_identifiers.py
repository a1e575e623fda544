"""DESIGN §3 identifier rules: pure functions, no I/O."""

from __future__ import annotations

import pytest

from ztix.domain.identifiers import (
    InvalidIdentifier,
    network_controller,
    normalize_network_id,
    normalize_node_id,
    validate_asn,
)


@pytest.mark.parametrize(
    "asn",
    [0, 23456, 64496, 64511, 65535, 65536, 65551, 4294967295, 4294967296, -1],
)
def test_reserved_and_out_of_range_asns_are_refused(asn: int) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_asn(asn, allow_private=True)
    assert exc.value.code == "invalid_asn"


@pytest.mark.parametrize("asn", [64512, 65534, 4200000000, 4294967294])
def test_private_asns_need_the_switch(asn: int) -> None:
    with pytest.raises(InvalidIdentifier, match="private"):
        validate_asn(asn)
    assert validate_asn(asn, allow_private=True) == asn


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        (213035, 213035),
        ("AS213035", 213035),
        (" 13335 ", 13335),
        (64495, 64495),
        (65552, 65552),
        (4199999999, 4199999999),
        (23455, 23455),
        (23457, 23457),
    ],
)
def test_public_asns_are_accepted(value: object, expected: int) -> None:
    assert validate_asn(value) == expected


@pytest.mark.parametrize("value", [True, 1.5, None, "", "AS", "12a", "-5", [1]])
def test_non_integers_are_not_asns(value: object) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_asn(value)
    assert exc.value.code == "invalid_asn"


def test_node_ids_are_normalised_to_lower_case() -> None:
    assert normalize_node_id(" ABCDEF0123 ") == "abcdef0123"


@pytest.mark.parametrize(
    "value",
    [
        "abcdef012",
        "abcdef01234",
        "abcdefg123",
        "0000000000",
        "ff12345678",
        "FF12345678",
        12345678901,
        None,
        "",
    ],
)
def test_bad_node_ids(value: object) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        normalize_node_id(value)
    assert exc.value.code == "invalid_node_id"


def test_network_ids() -> None:
    nwid = normalize_network_id("8056C2E21C000001")
    assert nwid == "8056c2e21c000001"
    assert network_controller(nwid) == "8056c2e21c"
    for bad in ["8056c2e21c00001", "8056c2e21c0000011", "8056c2e21c00000g", None]:
        with pytest.raises(InvalidIdentifier) as exc:
            normalize_network_id(bad)
        assert exc.value.code == "invalid_network_id"
