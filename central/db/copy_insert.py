"""PostgreSQL bulk insert by COPY, with ``ON CONFLICT DO NOTHING`` kept: for ingest.

An ``executemany`` of an INSERT makes psycopg adapt every parameter of every row in Python and
the server plan and run one INSERT per row; at ingest rates that is most of central's CPU.
Here the rows are streamed by psycopg's ``cursor.copy()`` (adapted in its C code, parsed by the
server in one pass) into a temporary staging table shaped like the target, then moved by one
``INSERT .. SELECT .. ON CONFLICT (..) DO NOTHING``, so duplicates are skipped exactly as by a
plain INSERT. Everything runs in the caller's transaction: it commits or rolls back with it.

JSON columns are written as text made by orjson, not wrapped for psycopg's JSON dumper (which
costs three times as much per value).

The staging table is per connection (``TEMPORARY``) and emptied at every commit (``ON COMMIT
DELETE ROWS``, which empties it in place). It is made with ``IF NOT EXISTS`` in every
transaction, in the same round trip as a ``DELETE`` of what an earlier call of the same
transaction left (nothing, usually), because a table made in a transaction that rolls back is
gone again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import sql
from sqlalchemy import JSON, Connection, Dialect, Table

from central.db.bulk_insert import BoundValues
from central.db.types import json_text

__all__ = ["CopyInsert"]


class CopyInsert:
    """COPY ``rows`` into ``table`` (PostgreSQL, psycopg 3), skipping rows that conflict on
    ``conflict_columns``."""

    def __init__(self, table: Table, dialect: Dialect, conflict_columns: Sequence[str]) -> None:
        if dialect.name != "postgresql" or dialect.driver != "psycopg":
            raise ValueError(f"COPY needs PostgreSQL through psycopg 3, not {dialect.name}")
        names = [column.name for column in table.columns]
        self._bound = BoundValues(table, names, dialect, {JSON: json_text})
        staging = sql.Identifier(f"staging_{table.name}")
        columns = sql.SQL(", ").join(map(sql.Identifier, names))
        self._prepare = sql.SQL(
            "SET LOCAL client_min_messages = warning; "
            "CREATE TEMPORARY TABLE IF NOT EXISTS {staging} "
            "(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS; "
            "DELETE FROM {staging}"
        ).format(staging=staging, table=sql.Identifier(table.name))
        self._copy = sql.SQL("COPY {staging} ({columns}) FROM STDIN").format(
            staging=staging, columns=columns
        )
        self._move = sql.SQL(
            "INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "
            "ON CONFLICT ({conflict}) DO NOTHING"
        ).format(
            table=sql.Identifier(table.name),
            columns=columns,
            staging=staging,
            conflict=sql.SQL(", ").join(map(sql.Identifier, conflict_columns)),
        )

    def execute(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> int:
        """Insert ``rows`` (dicts keyed by column name); return how many the database took."""
        if not rows:
            return 0
        params = self._bound(rows)
        driver_connection: Any = connection.connection.driver_connection
        with driver_connection.cursor() as cursor:
            cursor.execute(self._prepare)
            with cursor.copy(self._copy) as copy:
                for values in params:
                    copy.write_row(values)
            cursor.execute(self._move)
            return int(cursor.rowcount)
