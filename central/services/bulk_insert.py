"""Insert many rows with one DB-API ``executemany``, for bulk writes of tens of thousands of rows.

SQLAlchemy's own executemany runs every parameter of every row through its Python bind machinery,
which cost more than SQLite's insert itself (100,000 annotations: about 0.7 s on top of 0.6 s).
Here SQLAlchemy still compiles the INSERT for the connection's dialect (paramstyle, PostgreSQL's
casts) and provides each column type's own bind conversion, but looks them up once: only the
columns that need a conversion (JSON, timestamps) pay for one, and the driver gets plain tuples
or dicts. It runs inside the session's transaction, so it commits or rolls back with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

__all__ = ["insert_many"]


def insert_many(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys: column names) into ``table``."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    converters: dict[str, Callable[[Any], Any]] = {}
    for key in keys:
        convert = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            converters[key] = convert

    parameters: list[Any]
    if compiled.positional:
        order = list(compiled.positiontup or ())
        convert_at = [
            (i, _reusing(converters[key])) for i, key in enumerate(order) if key in converters
        ]
        parameters = []
        for row in rows:
            values = [row[key] for key in order]
            for index, conversion in convert_at:
                values[index] = conversion(values[index])
            parameters.append(tuple(values))
    else:
        reusing = {key: _reusing(conversion) for key, conversion in converters.items()}
        parameters = [
            {key: reusing[key](value) if key in reusing else value for key, value in row.items()}
            for row in rows
        ]
    connection.exec_driver_sql(compiled.string, parameters)


def _reusing(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert``, skipped when a value is the very object the previous row had: bulk rows
    share many (the creation time, None, True and False), and conversions are pure."""
    last: list[Any] = [_NOTHING, None]

    def run(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, convert(value)
        return last[1]

    return run


_NOTHING = object()
