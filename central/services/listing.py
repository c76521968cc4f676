"""The order of a list: a ``sort`` key (``name`` ascending, ``-name`` descending) turned into
``ORDER BY`` columns, with the id last so that equal keys still page deterministically."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["ordering"]


def ordering(
    sort: str,
    columns: Mapping[str, InstrumentedAttribute[Any]],
    tiebreak: InstrumentedAttribute[Any],
) -> list[ColumnElement[Any]]:
    """``ORDER BY`` terms for ``sort``, a key of ``columns`` with an optional leading ``-``.

    :raises KeyError: for a key ``columns`` lacks (the request schemas allow only known ones).
    """
    descending = sort.startswith("-")
    column = columns[sort.removeprefix("-")]
    if descending:
        return [column.desc(), tiebreak.desc()]
    return [column.asc(), tiebreak.asc()]
