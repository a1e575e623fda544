"""What every area of the API shares: pagination, and the guards on integers and text."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, BeforeValidator
from pydantic_core import PydanticCustomError

from ztix.domain.identifiers import (
    parse_digits,
)

T = TypeVar("T")

# Numbers a query may carry stay within what the database's integers and Python's dates
# take: past them the query would fail with a server error rather than answer.
MAX_OFFSET = 2_147_483_647
MAX_LIMIT = 200  # a page's items at most
MAX_AGE_MINUTES = 100 * 366 * 24 * 60  # a century

# PostgreSQL's text cannot hold NUL: text that is stored or looked up is refused at the door
# (422 validation_failed) rather than failing in the database (500).
NO_NUL = r"^[^\x00]*$"


def _ascii_int(value: Any) -> Any:
    """Whole numbers from users are JSON integers or the ASCII digits 0-9: pydantic alone
    would take "1_000", "+5", " 7 " and 5.0 too."""
    if isinstance(value, str):
        parsed = parse_digits(value)
        if parsed is None:
            raise PydanticCustomError(
                "validation_failed", "must be a whole number written with the digits 0-9"
            )
        return parsed
    if isinstance(value, bool | float):
        raise PydanticCustomError("validation_failed", "must be a whole number")
    return value


# Every integer a request carries (body or query) has this after its Query/Field, as in
# ``Annotated[int, Query(ge=1), AsciiDigits]``: the bounds stay in the OpenAPI document.
AsciiDigits = BeforeValidator(_ascii_int)

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT), AsciiDigits]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET), AsciiDigits]


class Page(BaseModel, Generic[T]):
    """The one pagination shape of every list."""

    items: list[T]
    total: int
    limit: int
    offset: int
