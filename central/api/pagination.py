"""Paging of list endpoints: ``limit``/``offset`` query parameters in (:class:`~central.schemas.
base.Page`), a plain JSON array out, the total number of items in the ``X-Total-Count`` header
(exposed to browsers through CORS)."""

from __future__ import annotations

from fastapi import Response

__all__ = ["TOTAL_COUNT_HEADER", "set_total"]

TOTAL_COUNT_HEADER = "X-Total-Count"


def set_total(response: Response, total: int) -> None:
    response.headers[TOTAL_COUNT_HEADER] = str(total)
