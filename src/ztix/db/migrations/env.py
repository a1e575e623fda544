"""Alembic environment: the URL comes from the caller (ztix.db.migrate), never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from ztix.db.base import Base
from ztix.db.models import *  # noqa: F403  (register every table on the metadata)
from ztix.db.session import is_sqlite, make_engine

config = context.config
_url = config.get_main_option("sqlalchemy.url")
assert _url, "ztix.db.migrate sets sqlalchemy.url"
url: str = _url


def run_migrations_offline() -> None:
    context.configure(
        url=url,
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=is_sqlite(url),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=is_sqlite(url),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
