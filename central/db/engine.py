"""Engines and sessions for SQLite and PostgreSQL.

SQLite gets its pragmas on every new connection, since they are per connection (``foreign_keys``
above all: without it no ``ON DELETE`` rule runs). WAL lets readers and one writer work at once;
``synchronous=NORMAL`` is durable in WAL mode except for the last commits before a power cut;
``busy_timeout`` makes a second writer wait instead of failing with "database is locked".
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from central.config import normalise_database_url

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "make_engine", "session_factory", "sqlite_path"]

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` (a plain ``postgresql://`` URL gets the psycopg driver).

    A SQLite file's directory is created when missing.
    """
    url = normalise_database_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # Connections move between FastAPI's worker threads; the pool hands each to one at a time.
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (responses are built after it)."""
    return sessionmaker(engine, expire_on_commit=False)
