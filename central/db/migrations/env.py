"""Alembic environment: one migration tree for SQLite and PostgreSQL.

The URL comes from the caller (``config.attributes["database_url"]``, set by
:mod:`central.db.migrate`) or else from :class:`~central.config.CentralSettings`, never from
alembic.ini. SQLite cannot ALTER most things, so operations run in batch mode there.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from central.db.migrate import configure_context


def _url() -> str:
    url = context.config.attributes.get("database_url")
    if url is None:
        from central.config import CentralSettings

        url = CentralSettings().database_url
    return str(url)


def run_offline() -> None:
    url = _url()
    dialect = make_url(url).get_backend_name()
    context.configure(url=url, literal_binds=True, **configure_context(dialect))
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **configure_context(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection: Any = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from central.db.engine import make_engine

    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
