"""Alembic driven from code: ``upgrade(url)`` for the CLI and the server, and a models check.

The migration scripts ship inside the package (``central/db/migrations``), so an installed
``rig-central`` can upgrade a database without a checkout or an alembic.ini on the path.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from central.db.engine import make_engine
from central.db.models import Base
from central.db.types import Timestamp

__all__ = [
    "MIGRATIONS_DIR",
    "DatabaseNotMigrated",
    "alembic_config",
    "configure_context",
    "current_revision",
    "ensure_ready",
    "head_revision",
    "model_differences",
    "upgrade",
]

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Write Timestamp columns as plain ``sa.DateTime(timezone=True)``.

    The stored type is just that; the UTC handling is Python-side only, and migrations should not
    import application code that may change after they are written.
    """
    if type_ == "type" and isinstance(obj, Timestamp):
        return "sa.DateTime(timezone=True)"
    return False


def configure_context(dialect_name: str) -> dict[str, Any]:
    """Options for ``context.configure``, shared by env.py and :func:`model_differences`."""
    return {
        "target_metadata": Base.metadata,
        "compare_type": True,
        "render_as_batch": dialect_name == "sqlite",
        "render_item": _render_item,
    }


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (a no-op when it is there already)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


class DatabaseNotMigrated(RuntimeError):
    """A server database (PostgreSQL) is behind the code: someone must run ``db upgrade``."""


def ensure_ready(url: str) -> None:
    """Make the database at ``url`` usable by this code.

    A SQLite file is the server's own embedded database: it is upgraded on the spot. A server
    database (PostgreSQL) is shared and upgrading it is an operator's decision, so it is only
    checked.

    :raises DatabaseNotMigrated: a server database is not at the head revision.
    """
    if make_url(url).get_backend_name() == "sqlite":
        upgrade(url)
        return
    current, head = current_revision(url), head_revision()
    if current != head:
        raise DatabaseNotMigrated(
            f"the database is at revision {current or 'none (empty)'}, this version needs {head}: "
            "run `rig-central db upgrade` with the same --database-url first"
        )


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS_DIR}")
    return head


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at; None for a database never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def model_differences(url: str) -> list[Any]:
    """What autogenerate would change to make the database at ``url`` match the models.

    Empty when the migrations (applied to that database) and the models agree.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            options = configure_context(connection.dialect.name)
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": options["compare_type"]},
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()
