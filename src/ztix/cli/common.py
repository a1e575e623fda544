"""What every `ztix` command shares: the --config option, settings, database, failures.

Exit codes: 0 success; 1 the operation failed, was refused, or found differences;
2 the configuration is unusable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from ztix.config import ConfigError, Settings, load_settings
from ztix.db.session import Database

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Runtime config YAML (default: $ZTIX_CONFIG)")
]


def settings_or_exit(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` and give the Exit(1) to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@contextmanager
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.database_url)
    try:
        yield db
    finally:
        db.dispose()
