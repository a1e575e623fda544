"""Issue 12 \u00a75: integers and identifiers from users are ASCII only. Property tests over
every identifier parser, against a plain oracle written character by character, and the
API's answers (422 with a stable code and a plain sentence) for the same inputs."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from tests.support.app import Session
from ztix.api.schemas.common import AsciiDigits
from ztix.domain.identifiers import (
    InvalidIdentifier,
    normalize_network_id,
    normalize_node_id,
    parse_digits,
    validate_asn,
)
from ztix.domain.policy import AsnRange, parse_asn_range

ASCII_DIGITS = "0123456789"
HEX = "0123456789abcdefABCDEF"
# Characters a lax parser mistakes for digits, signs or blanks.
LOOKALIKES = [
    "\u00b2",  # superscript two: str.isdigit() is True, int() fails
    "\uff11",  # fullwidth one: int() gives 1
    "\u0663",  # Arabic-Indic three: int() gives 3
    "\u09e7",  # Bengali one
    "\u2460",  # circled one
    "\u00bd",  # vulgar half (numeric)
    "_",  # int("1_000") == 1000
    "+",
    "-",
    "\u3000",  # ideographic space: str.strip() removes it
    "\u00a0",
    "\n",
    "\x00",
    "\u017f",  # long s: "AS".upper()-style checks take "a\u017f"
    "\u0130",
    "\uff21",  # fullwidth A
    "\uff41",  # fullwidth a
]

# Text built from ASCII digits, the AS prefix, blanks and the lookalikes: the inputs that
# matter, more often than st.text() alone would find them.
tricky = st.lists(
    st.sampled_from([*ASCII_DIGITS, "AS", "as", "aS", " ", "\t", *HEX, *LOOKALIKES]),
    max_size=24,
).map("".join)
any_text = st.one_of(tricky, st.text(max_size=30))


def _digits(text: str) -> int | None:
    if not text or any(c not in ASCII_DIGITS for c in text):
        return None
    # Python's int() refuses more than 4300 digits; all we need to know is "too large".
    return int(text) if len(text.lstrip("0")) <= 20 else 10**20


def _asn_oracle(text: str) -> int | None:
    body = text.strip(" \t")
    if body[:2] in ("AS", "as", "As", "aS"):
        body = body[2:]
    return _digits(body)


def _outcome(fn: Any, *args: Any, **kw: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args, **kw)
    except InvalidIdentifier as exc:
        assert exc.detail and "Traceback" not in exc.detail
        return "refused", exc.code


@given(any_text)
@example("\u00b2")
@example("\uff11\uff12")
@example("AS\uff11\uff13\uff13\uff13\uff15")
@example("1_000")
@example("+13335")
@example("13 335")
@example("a\u017f13335")
@example("AS" + "9" * 5000)
def test_asn_text_is_ascii_digits_with_an_optional_as(text: str) -> None:
    expected = _asn_oracle(text)
    got = _outcome(validate_asn, text, allow_private=True)
    if expected is None:
        assert got == ("refused", "invalid_asn")
    else:
        # The text means exactly the integer its ASCII digits spell.
        assert got == _outcome(validate_asn, expected, allow_private=True)


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_asn_integers_and_their_text_agree(asn: int) -> None:
    got = _outcome(validate_asn, asn)
    if asn >= 0:
        assert _outcome(validate_asn, str(asn)) == got
        assert _outcome(validate_asn, f"AS{asn}") == got
    if got[0] == "ok":
        assert got[1] == asn
    else:
        assert got[1] == "invalid_asn"


@given(st.one_of(st.none(), st.booleans(), st.floats(), st.lists(st.integers(), max_size=2)))
def test_asn_of_any_other_type_is_refused(value: object) -> None:
    assert _outcome(validate_asn, value) == ("refused", "invalid_asn")


def _hex_oracle(text: str, length: int) -> str | None:
    body = text.strip(" \t")
    if len(body) != length or any(c not in HEX for c in body):
        return None
    return body.lower()


@given(st.one_of(any_text, st.text(alphabet=HEX + " \t" + "".join(LOOKALIKES), max_size=14)))
@example("ABCDEF0123")
@example("abcdef\uff10\uff11\uff12\uff13")
@example("\u3000abcdef0123")
def test_node_ids(text: str) -> None:
    node = _hex_oracle(text, 10)
    if node is not None and (node == "0000000000" or node.startswith("ff")):
        node = None
    got = _outcome(normalize_node_id, text)
    assert got == (("ok", node) if node is not None else ("refused", "invalid_node_id"))


@given(st.one_of(any_text, st.text(alphabet=HEX + " \t" + "".join(LOOKALIKES), max_size=20)))
@example("8056C2E21C000001")
@example("8056c2e21c00000\uff11")
def test_network_ids(text: str) -> None:
    nwid = _hex_oracle(text, 16)
    got = _outcome(normalize_network_id, text)
    assert got == (("ok", nwid) if nwid is not None else ("refused", "invalid_network_id"))


@given(any_text)
@example("0" * 30 + "7")
def test_plain_digits(text: str) -> None:
    # Past 20 significant digits: 10**20, beyond every range; int() never sees 5000 digits.
    assert parse_digits(text) == _digits(text)


@given(st.one_of(any_text, st.tuples(tricky, tricky).map("-".join)))
@example("AS64500-AS64510")
@example("\uff16\uff14\uff15\uff10\uff10-64510")
def test_asn_ranges_in_the_config(text: str) -> None:
    low, sep, high = text.partition("-")
    first = _asn_oracle(low)
    last = _asn_oracle(high) if sep else first
    try:
        got = parse_asn_range(text)
    except ValueError as exc:
        assert str(exc)
        assert first is None or last is None or not (1 <= first <= last <= 4_294_967_294)
        return
    assert first is not None and last is not None
    assert got == AsnRange(first, last)


_ascii_int = TypeAdapter(Annotated[int, AsciiDigits])


@given(st.one_of(any_text, st.integers(), st.floats(), st.booleans()))
@example("1_000")
@example("+5")
@example(" 5")
@example(5.0)
def test_api_integers(value: object) -> None:
    if isinstance(value, str):
        expected = _digits(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        expected = value
    else:
        expected = None
    try:
        got = _ascii_int.validate_python(value)
    except ValidationError as exc:
        assert expected is None or expected >= 10**20
        [error] = exc.errors()
        assert error["type"] == "validation_failed"
        return
    assert got == expected


# --- over HTTP ---------------------------------------------------------------------------

UNICODE_NUMBERS = [
    "\u00b2",
    "\uff11\uff12",
    "\u0663",
    "1_000",
    "+5",
    "1 0",
    "5.0",
    "-1",
    "\u3000" + "5",
]


@pytest.mark.parametrize(
    "asn",
    [
        "AS\u00b2",
        "AS\uff11\uff13\uff13\uff13\uff15",
        "\u0661\u0663\u0663\u0663\u0665",
        "13_335",
        "+13335",
        "13 335",
    ],
)
@pytest.mark.both_databases
def test_join_request_asn_must_be_ascii(member: Session, asn: str) -> None:
    response = member.post(
        "/api/v1/requests",
        json={"asn": asn, "zt_network_id": "8056c2e21c000001", "node_id": "abcdef0123"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_asn"
    assert "digits 0-9" in body["detail"]
    assert "invalid literal" not in body["detail"]


@pytest.mark.both_databases
@pytest.mark.parametrize("value", UNICODE_NUMBERS)
def test_query_integers_must_be_ascii(member: Session, value: str) -> None:
    response = member.get("/api/v1/requests", params={"limit": value})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert "whole number" in body["detail"]
    assert member.get("/api/v1/requests", params={"limit": "5"}).status_code == 200
    # The bounds still hold after the ASCII check.
    assert member.get("/api/v1/requests", params={"limit": "500"}).status_code == 422


@pytest.mark.both_databases
@pytest.mark.parametrize("value", UNICODE_NUMBERS)
def test_admin_query_integers_must_be_ascii(admin: Session, value: str) -> None:
    for name in ("asn", "min_age_minutes", "offset"):
        response = admin.get("/api/v1/admin/requests", params={name: value})
        assert response.status_code == 422, (name, value)
        assert response.json()["code"] == "validation_failed"
    assert admin.get("/api/v1/admin/requests", params={"asn": "13335"}).status_code == 200


# --- on the command line -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--port", "8_000"],
        ["serve", "--workers", "+2"],
        ["worker", "--concurrency", "\uff12"],
        ["controller", "backup", "--keep", " 3"],
        ["policy", "check", "--asn", "13335", "--network", "x", "--perms", "\u00b2"],
    ],
)
def test_cli_integers_must_be_ascii(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ztix.cli.main import app

    monkeypatch.delenv("ZTIX_CONFIG", raising=False)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.replace("\u2502", " ").split())  # rich's box
    assert "whole number written with the digits 0-9" in said


def test_cli_asns_must_be_ascii(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ztix.cli.main import app

    monkeypatch.delenv("ZTIX_CONFIG", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    args = ["users", "create", "--username", "x", "--asn", "AS\uff11\uff13\uff13\uff13\uff15"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "digits 0-9" in result.output
    assert "(invalid_asn)" in result.output
