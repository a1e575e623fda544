"""The AS-SET parser on what PeeringDB's irr_as_set really holds, and the validator that
guards bgpq4's argument list."""

from __future__ import annotations

import pytest

from ztix.domain.irr import (
    InvalidIrrObject,
    IrrChoice,
    IrrObject,
    check_object,
    check_source,
    parse_irr_as_set,
    select_irr_objects,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AS-FOO", [IrrObject("AS-FOO")]),
        ("as-foo", [IrrObject("AS-FOO")]),
        ("RIPE::AS-FOO", [IrrObject("AS-FOO", "RIPE")]),
        ("ripe::as-foo", [IrrObject("AS-FOO", "RIPE")]),
        ("AS-FOO@RIPE", [IrrObject("AS-FOO", "RIPE")]),
        ("AS-FOO@ARIN-NONAUTH", [IrrObject("AS-FOO", "ARIN-NONAUTH")]),
        ("AS213035", [IrrObject("AS213035")]),
        ("AS8283:AS-COLOCLUE", [IrrObject("AS8283:AS-COLOCLUE")]),
        ("RADB::AS-A:AS-B", [IrrObject("AS-A:AS-B", "RADB")]),
        ("AS-FOO AS-BAR", [IrrObject("AS-FOO"), IrrObject("AS-BAR")]),
        ("AS-FOO, AS-BAR", [IrrObject("AS-FOO"), IrrObject("AS-BAR")]),
        ("AS-FOO,AS-BAR;AS-BAZ", [IrrObject(n) for n in ("AS-FOO", "AS-BAR", "AS-BAZ")]),
        (
            "RIPE::AS-FOO ARIN::AS-FOO",
            [IrrObject("AS-FOO", "RIPE"), IrrObject("AS-FOO", "ARIN")],
        ),
        ("AS-FOO AS-FOO as-foo", [IrrObject("AS-FOO")]),
        ("  AS-FOO\t\n", [IrrObject("AS-FOO")]),
        ("AS-FOO_BAR-2", [IrrObject("AS-FOO_BAR-2")]),
    ],
)
def test_real_world_shapes(text: str, expected: list[IrrObject]) -> None:
    objects, ignored = parse_irr_as_set(text)
    assert list(objects) == expected
    assert ignored == ()


@pytest.mark.parametrize(
    "junk",
    [
        "none",
        "N/A",
        "-",
        "https://www.example.net/as-set",
        "AS-",
        "AS-FOO-",
        "AS0",
        "AS4294967295",
        "AS99999999999",
        "ASFOO",
        "-AS-FOO",
        "--help",
        "AS-FOO::",
        "::AS-FOO",
        "AS-FOO@",
        "AS-FOO@R!PE",
        "AS1:AS2",
        "AS-$(reboot)",
        "AS-FOO`id`",
        "AS-\uff26\uff2f\uff2f",  # fullwidth letters
        "AS-FOO\x00",
        "1::AS-FOO",
        "A" * 200,
    ],
)
def test_junk_is_ignored(junk: str) -> None:
    objects, ignored = parse_irr_as_set(junk)
    assert objects == ()
    assert ignored


def test_junk_next_to_a_valid_name_keeps_the_name() -> None:
    objects, ignored = parse_irr_as_set("see AS-FOO (RIPE)")
    assert objects == (IrrObject("AS-FOO"),)
    assert ignored == ("see", "(RIPE)")


def test_nothing_valid_falls_back_to_the_members_asn() -> None:
    chosen = select_irr_objects(64500, override=None, peeringdb="none, see website")
    assert chosen.objects == (IrrObject("AS64500"),)
    assert chosen.choice is IrrChoice.ASN
    assert "none" in chosen.ignored
    assert chosen.text == "AS64500"


def test_empty_peeringdb_field_falls_back_to_the_asn() -> None:
    for empty in (None, "", "   "):
        chosen = select_irr_objects(64501, override=None, peeringdb=empty)
        assert (chosen.objects, chosen.choice) == ((IrrObject("AS64501"),), IrrChoice.ASN)


def test_the_override_wins_over_peeringdb() -> None:
    chosen = select_irr_objects(64500, override="RIPE::AS-OVER", peeringdb="AS-PDB")
    assert chosen.objects == (IrrObject("AS-OVER", "RIPE"),)
    assert chosen.choice is IrrChoice.OVERRIDE
    assert chosen.text == "RIPE::AS-OVER"


def test_peeringdb_is_used_without_override() -> None:
    chosen = select_irr_objects(64500, override=None, peeringdb="AS-PDB@RADB")
    assert (chosen.objects, chosen.choice) == ((IrrObject("AS-PDB", "RADB"),), IrrChoice.PEERINGDB)


def test_entries_are_capped() -> None:
    objects, _ = parse_irr_as_set(" ".join(f"AS-S{i}" for i in range(50)))
    assert len(objects) == 10


@pytest.mark.parametrize("bad", ["", "-s", "AS-FOO BAR", "AS-FOO\n", "AS 1", "AS-A;B", "AS0"])
def test_the_validator_refuses_what_must_not_reach_bgpq4(bad: str) -> None:
    with pytest.raises(InvalidIrrObject):
        check_object(bad)


@pytest.mark.parametrize("bad", ["", "-h", "RI PE", "R", "RIPE;", "ripe\n", "1RIPE"])
def test_the_source_validator(bad: str) -> None:
    with pytest.raises(InvalidIrrObject):
        check_source(bad)


def test_valid_values_come_back_upper_case() -> None:
    assert check_object("as-foo:as123") == "AS-FOO:AS123"
    assert check_source("ripe-nonauth") == "RIPE-NONAUTH"
