"""JSON written by the database: SQL expressions whose value is the JSON text of a column,
byte for byte as pydantic writes it (``pydantic_core.to_json``: compact, UTF-8 unescaped,
datetimes in UTC as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``, UUIDs hyphenated in lower case).

A page read in bulk (a member's requests, issue 17) can then go out as the database wrote
it: no Python object per value, no decoding of a JSON column only to encode it again. Each
kind of value is one construct, compiled for PostgreSQL and for SQLite (how each stores
it: SQLite keeps UUIDs as 32 hex digits, datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff`` text
in UTC, booleans as 0 and 1). :func:`json_object` joins them into an object whose keys
keep the order given. ``tests/api/test_json_text.py`` compares every construct with
``pydantic_core.to_json`` on both databases, awkward strings and instants included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, Text, and_, case, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

NULL = "'null'"


class _JsonText(FunctionElement[str]):
    """The JSON text of one value; SQL NULL becomes ``null``."""

    type = Text()
    inherit_cache = True


class value(_JsonText):  # noqa: N801 - reads as a function, as SQLAlchemy's func.* do
    """A string or an integer column."""

    name = "ztix_json_value"
    inherit_cache = True


class boolean(_JsonText):  # noqa: N801
    name = "ztix_json_boolean"
    inherit_cache = True


class uuid(_JsonText):  # noqa: N801
    name = "ztix_json_uuid"
    inherit_cache = True


class timestamp(_JsonText):  # noqa: N801
    """A ``UTCDateTime`` column, as pydantic writes an aware UTC datetime."""

    name = "ztix_json_timestamp"
    inherit_cache = True


class raw(_JsonText):  # noqa: N801
    """A text column that holds JSON text already (or NULL)."""

    name = "ztix_json_raw"
    inherit_cache = True


class _Concat(FunctionElement[str]):
    type = Text()
    inherit_cache = True
    name = "ztix_json_concat"


def _sql_string(text: str) -> ColumnElement[str]:
    # Only this module's constant keys and punctuation: never data (that is bound or read).
    if "%" in text:  # psycopg's paramstyle reads % in the statement
        raise ValueError(f"not a literal this module writes: {text!r}")
    return literal_column("'" + text.replace("'", "''") + "'", Text)


def json_object(fields: Sequence[tuple[str, ColumnElement[Any]]]) -> ColumnElement[str]:
    """``{"key":value,...}`` from JSON-text expressions (this module's, or other objects),
    in the order given."""
    parts: list[ColumnElement[Any]] = []
    for i, (key, json) in enumerate(fields):
        parts += [_sql_string(("{" if i == 0 else ",") + f'"{key}":'), json]
    parts.append(_sql_string("}") if fields else _sql_string("{}"))
    return _Concat(*parts)


def text(prefix: str, column: ColumnElement[str]) -> ColumnElement[str]:
    """The text ``prefix`` followed by ``column``'s (to give to :class:`value`)."""
    return _Concat(_sql_string(prefix), column)


def nullable(present: ColumnElement[bool], json: ColumnElement[str]) -> ColumnElement[str]:
    """``json`` where ``present`` holds, ``null`` elsewhere."""
    return case((present, json), else_=literal_column(NULL, Text))


def filled(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """A text column that Python would call true: neither NULL nor empty."""
    return and_(column.is_not(None), column != literal_column("''"))


# --- compilation ----------------------------------------------------------------------------


def _arg(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    (only,) = element.clauses.clauses
    return str(compiler.process(only, **kw))


def _or_null(element: FunctionElement[Any], json: str) -> str:
    """``json``, or ``null`` where the column is NULL. A column declared NOT NULL is taken
    at its word (the statement stays short, see ``workflow.listing._member_query``); a NULL
    there anyway (an outer join's) makes the whole item NULL, which ``member_page`` refuses."""
    (only,) = element.clauses.clauses
    return f"COALESCE({json}, {NULL})" if getattr(only, "nullable", True) else json


@compiles(_Concat)
def _concat(element: _Concat, compiler: SQLCompiler, **kw: Any) -> str:
    return "(" + " || ".join(compiler.process(c, **kw) for c in element.clauses.clauses) + ")"


@compiles(value, "postgresql")
@compiles(boolean, "postgresql")
def _pg_value(element: _JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    (only,) = element.clauses.clauses
    if isinstance(only.type, Integer):  # digits and a sign: its text is its JSON
        return _or_null(element, f"CAST({_arg(element, compiler, **kw)} AS TEXT)")
    return _or_null(element, f"to_json({_arg(element, compiler, **kw)})::text")


@compiles(raw)
def _raw(element: raw, compiler: SQLCompiler, **kw: Any) -> str:
    return _or_null(element, _arg(element, compiler, **kw))


@compiles(uuid, "postgresql")
def _pg_uuid(element: uuid, compiler: SQLCompiler, **kw: Any) -> str:
    return _or_null(element, f"'\"' || ({_arg(element, compiler, **kw)})::text || '\"'")


@compiles(timestamp, "postgresql")
def _pg_timestamp(element: timestamp, compiler: SQLCompiler, **kw: Any) -> str:
    # Microseconds always, then none when they are all zero: ".000000Z" can only end it.
    utc = f"(({_arg(element, compiler, **kw)}) AT TIME ZONE 'UTC')"
    iso = f"""to_char({utc}, '\\"YYYY-MM-DD"T"HH24:MI:SS.US"Z\\"')"""
    return _or_null(element, f"""replace({iso}, '.000000Z"', 'Z"')""")


@compiles(value, "sqlite")
def _sqlite_value(element: value, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_quote({_arg(element, compiler, **kw)})"


@compiles(boolean, "sqlite")
def _sqlite_boolean(element: boolean, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CASE {_arg(element, compiler, **kw)} WHEN 1 THEN 'true' WHEN 0 THEN 'false' ELSE {NULL} END"  # noqa: E501


@compiles(uuid, "sqlite")
def _sqlite_uuid(element: uuid, compiler: SQLCompiler, **kw: Any) -> str:
    x = f"lower({_arg(element, compiler, **kw)})"
    hyphenated = " || '-' || ".join(
        f"substr({x}, {start}, {length})"
        for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    )
    return _or_null(element, f"'\"' || {hyphenated} || '\"'")


@compiles(timestamp, "sqlite")
def _sqlite_timestamp(element: timestamp, compiler: SQLCompiler, **kw: Any) -> str:
    x = _arg(element, compiler, **kw)
    fraction = f"substr({x}, 21, 6)"
    return _or_null(
        element,
        f"'\"' || substr({x}, 1, 10) || 'T' || substr({x}, 12, 8)"
        f" || CASE WHEN {fraction} IN ('', '000000') THEN '' ELSE '.' || {fraction} END"
        " || 'Z\"'",
    )
