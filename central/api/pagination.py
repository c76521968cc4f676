"""Paging of list endpoints: ``limit``/``offset`` query parameters in, a plain JSON array out,
the total number of items in the ``X-Total-Count`` header (exposed to browsers through CORS)."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel, Field

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "TOTAL_COUNT_HEADER", "Page", "set_total"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
TOTAL_COUNT_HEADER = "X-Total-Count"


class Page(BaseModel):
    """Use as ``page: Annotated[Page, Query()]``; unknown query parameters are ignored."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="items per page")
    offset: int = Field(0, ge=0, description="items to skip")


def set_total(response: Response, total: int) -> None:
    response.headers[TOTAL_COUNT_HEADER] = str(total)
