"""Insert many rows with one DB-API ``executemany``, for bulk writes and ingest.

SQLAlchemy's own executemany runs every parameter of every row through its Python bind machinery,
which costs more than the database's insert itself (100,000 annotations: about 0.7 s on top of
0.6 s; at ingest rates, as much as the insert). Here SQLAlchemy still compiles the statement for
the connection's dialect (paramstyle, PostgreSQL's casts, ``ON CONFLICT``) and provides each
column type's own bind conversion, but looks them up once: only the columns that need a
conversion (JSON, timestamps) pay for one, ``None`` stays SQL NULL, and the driver gets plain
tuples or dicts. It runs inside the caller's transaction, so it commits or rolls back with it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Insert, Table, insert
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

__all__ = ["BoundValues", "PreparedInsert", "insert_many"]


class BoundValues:
    """Rows (dicts keyed by column name) as lists of driver values, in the order of ``names``,
    each converted by its column type's bind processor for ``dialect``, or by
    ``converters[type(column.type)]`` where one is given."""

    def __init__(
        self,
        table: Table,
        names: Sequence[str],
        dialect: Dialect,
        converters: Mapping[type[TypeEngine[Any]], Callable[[Any], Any]] | None = None,
    ) -> None:
        self.names = list(names)
        take = operator.itemgetter(*self.names)
        self._values: Callable[[dict[str, Any]], list[Any]] = (
            (lambda row: list(take(row))) if len(self.names) > 1 else (lambda row: [take(row)])
        )
        columns = table.columns
        given = converters or {}
        self._converters = [
            (index, processor)
            for index, name in enumerate(self.names)
            if (
                processor := given.get(type(columns[name].type))
                or columns[name].type.dialect_impl(dialect).bind_processor(dialect)
            )
            is not None
        ]

    def __call__(self, rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
        params = [self._values(row) for row in rows]
        for index, convert in self._converters:
            _convert_column(params, index, convert)
        return params


class PreparedInsert:
    """An INSERT compiled once for a dialect, run as a bare DB-API executemany.

    ``column_keys`` limits the statement to those columns; by default it names every column.
    ``converters`` replace the bind processors of the column types they name (see
    :class:`BoundValues`).
    """

    def __init__(
        self,
        statement: Insert,
        dialect: Dialect,
        column_keys: Sequence[str] | None = None,
        converters: Mapping[type[TypeEngine[Any]], Callable[[Any], Any]] | None = None,
    ) -> None:
        compiled = statement.compile(
            dialect=dialect, column_keys=list(column_keys) if column_keys is not None else None
        )
        self._sql = compiled.string
        self._positional = bool(compiled.positional)
        names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.params)
        self._bound = BoundValues(statement.table, names, dialect, converters)  # type: ignore[arg-type]

    def execute(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> int:
        """Insert ``rows`` (dicts keyed by column name); return how many the database took."""
        if not rows:
            return 0
        params = self._bound(rows)
        if self._positional:
            result = connection.exec_driver_sql(self._sql, [tuple(values) for values in params])
        else:
            names = self._bound.names
            named = [dict(zip(names, values, strict=True)) for values in params]
            result = connection.exec_driver_sql(self._sql, named)
        return int(result.rowcount)


def insert_many(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys: column names) into ``table``."""
    if not rows:
        return
    connection = session.connection()
    PreparedInsert(insert(table), connection.dialect, list(rows[0])).execute(connection, rows)


def _convert_column(values: list[list[Any]], index: int, convert: Callable[[Any], Any]) -> None:
    """Convert one column of every row in place. A value that is the very object the previous
    row had is converted once: bulk rows share many (the creation time, None, True and False),
    and conversions are pure."""
    last_in: Any = _NOTHING
    last_out: Any = None
    for row in values:
        value = row[index]
        if value is not last_in:
            last_in, last_out = value, (None if value is None else convert(value))
        row[index] = last_out


_NOTHING = object()
