"""SQL pieces of the dataset queries that both dialects speak: box fields out of the JSON column,
LEAST, GREATEST and conditional counts."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, case, func
from sqlalchemy.orm import QueryableAttribute

from central.db.models import GroundTruthAnnotation

__all__ = ["box", "count_if", "greatest", "least"]


def box(name: str, table: Any = GroundTruthAnnotation) -> ColumnElement[float]:
    """One field (``x``, ``y``, ``width``, ``height``) of ``table.bounding_box`` as a float."""
    return cast(ColumnElement[float], table.bounding_box[name].as_float())


def least(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    """LEAST(a, b) in SQL both dialects speak."""
    return case((a <= b, a), else_=b)


def greatest(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((a >= b, a), else_=b)


def count_if(condition: ColumnElement[bool] | QueryableAttribute[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
