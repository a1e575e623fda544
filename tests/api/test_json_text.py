"""JSON written by the database (``db/json_text.py``) is what pydantic writes for the same
values, byte for byte, on SQLite and on PostgreSQL: the member's page depends on it
(issue 17, P4). Awkward values on purpose: quotes, backslashes, control characters,
non-ASCII text, whole seconds and single microseconds, NULLs, a JSON ``null``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic_core import to_json
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    insert,
    select,
)

from ztix.db import json_text as jsql
from ztix.db.base import UTCDateTime
from ztix.db.session import Database
from ztix.domain.policy import member_summary

pytestmark = pytest.mark.both_databases

TEXTS = [
    "",
    "plain",
    'quote " backslash \\ slash /',
    "control \x01\x1f\x7f \b\f\n\r\t end",
    "unicode é ü 漢 😀 \u2028 \u00a0",
    None,
]
NUMBERS = [0, -1, 64512, 4_200_000_000, 2**53, None]
FLAGS = [True, False, None, True, False, None]
UUIDS = [uuid.uuid4(), uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.uuid4(), None, None]
INSTANTS = [
    datetime(2026, 12, 6, 20, 36, 53, tzinfo=UTC),
    datetime(2026, 12, 6, 20, 36, 53, 1, tzinfo=UTC),
    datetime(2026, 12, 6, 20, 36, 53, 120000, tzinfo=UTC),
    datetime(2000, 1, 1, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    None,
]
VERDICTS: list[Any] = [
    {
        "decision": "needs_admin",
        "evaluated_at": "2026-12-06T20:00:00Z",
        "reasons": [
            {"code": "network_manual", "message": 'A "manual" network: é\n漢'},
            {"code": "daily_limit_reached", "message": "back\\slash \x01"},
        ],
        "checks": [{"name": "asn_denylist", "status": "passed"}],
    },
    {"decision": "approve", "reasons": []},
    {"decision": "deny_asn", "reasons": [{"code": "x", "message": None}]},
    None,  # stored as JSON null (the JSON type's default for None)
    "sql-null",  # stored as SQL NULL
    {"decision": "approve", "reasons": [{"code": "a", "message": "b"}]},
]


@pytest.fixture
def table(database: Database) -> Iterator[Table]:
    meta = MetaData()
    values = Table(
        "json_text_values",
        meta,
        Column("i", Integer, primary_key=True),
        Column("s", Text),
        Column("n", BigInteger),
        Column("b", Boolean),
        Column("u", Uuid),
        Column("t", UTCDateTime),
        Column("v", JSON),
    )
    meta.create_all(database.engine)
    rows = zip(TEXTS, NUMBERS, FLAGS, UUIDS, INSTANTS, VERDICTS, strict=True)
    with database.session() as db:
        for i, (s, n, b, u, t, v) in enumerate(rows):
            verdict = {} if v == "sql-null" else {"v": v}
            db.execute(insert(values).values(i=i, s=s, n=n, b=b, u=u, t=t, **verdict))
    yield values
    meta.drop_all(database.engine)


def _read(database: Database, *columns: Any) -> list[tuple[str, ...]]:
    with database.read_session() as db:
        return [tuple(r) for r in db.execute(select(*columns).order_by(columns[-1]))]


def test_scalars_are_written_as_pydantic_writes_them(database: Database, table: Table) -> None:
    c = table.c
    read = _read(
        database,
        jsql.value(c.s),
        jsql.value(c.n),
        jsql.boolean(c.b),
        jsql.uuid(c.u),
        jsql.timestamp(c.t),
        c.i,
    )
    expected = [
        (to_json(s), to_json(n), to_json(b), to_json(u), to_json(t))
        for s, n, b, u, t in zip(TEXTS, NUMBERS, FLAGS, UUIDS, INSTANTS, strict=True)
    ]
    assert [tuple(x.encode() for x in row[:5]) for row in read] == expected


def test_a_stored_member_summary_is_sent_as_it_is(database: Database, table: Table) -> None:
    """``policy_summary`` holds ``domain.policy.member_summary``'s text: pydantic's JSON of
    what the member sees (``PolicyOut``), which ``raw`` passes through, NULL as null."""
    read = [row[0] for row in _read(database, jsql.raw(table.c.s), table.c.i)]
    assert read == [("null" if s is None else s) for s in TEXTS]
    for verdict in VERDICTS:
        if isinstance(verdict, dict):
            shown = {"decision": verdict["decision"], "reasons": verdict["reasons"]}
            shown["reasons"] = [
                {"code": r["code"], "message": r["message"]} for r in shown["reasons"]
            ]
            assert member_summary(verdict).encode() == to_json(shown)


def test_objects_keep_their_keys_in_order_and_null_where_absent(
    database: Database, table: Table
) -> None:
    c = table.c
    obj = jsql.json_object(
        [
            ("text", jsql.value(jsql.text("prefix ", c.s))),
            ("flag", jsql.boolean(c.b)),
            ("inner", jsql.nullable(jsql.filled(c.s), jsql.json_object([("n", jsql.value(c.n))]))),
        ]
    )
    read = [row[0] for row in _read(database, obj, c.i)]
    expected = [
        to_json(
            {
                "text": None if s is None else f"prefix {s}",
                "flag": b,
                "inner": {"n": n} if s else None,
            }
        )
        for s, b, n in zip(TEXTS, FLAGS, NUMBERS, strict=True)
    ]
    assert [r.encode() for r in read] == expected
