"""What every `ztix` command shares: the --config option, settings, database, failures.

Exit codes: 0 success; 1 the operation failed, was refused, or found differences;
2 the configuration is unusable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from ztix.config import ConfigError, Settings, load_settings
from ztix.db.session import Database
from ztix.domain.identifiers import InvalidIdentifier, parse_digits
from ztix.errors import AppError

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Runtime config YAML (default: $ZTIX_CONFIG)")
]


def settings_or_exit(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def whole_number(low: int, high: int | None = None) -> Callable[[str | int], int]:
    """A ``parser=`` for integer options: the ASCII digits 0-9 only, within ``low``-``high``
    (typer's own int takes "1_000", "+5" and " 5")."""

    def parse(text: str | int) -> int:
        value = text if isinstance(text, int) else parse_digits(text)
        if value is None:
            raise typer.BadParameter("must be a whole number written with the digits 0-9")
        if value < low or (high is not None and value > high):
            raise typer.BadParameter(
                f"must be at least {low}" if high is None else f"must be {low}-{high}"
            )
        return value

    return parse


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` and give the Exit(1) to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def refused(exc: AppError | InvalidIdentifier) -> typer.Exit:
    """Print the refusal with its stable code (``error: detail (code)``); Exit(1) to raise."""
    return fail(f"{exc.detail} ({exc.code})")


@contextmanager
def open_database(settings: Settings) -> Iterator[Database]:
    """The one way a command reaches the database: opened here, disposed on the way out."""
    db = Database(settings.database_url)
    try:
        yield db
    finally:
        db.dispose()
