"""Paging of list endpoints, one mechanism for every list.

A list takes its query as a :class:`~central.schemas.base.Page` (``limit``, ``offset``, and on
lists with more than one useful order a ``sort``) and answers a plain JSON array, which the
frontend expects. :class:`Pager` (``PagerDep`` in :mod:`central.api.deps`) puts beside it:

- ``X-Total-Count``: how many items match, over every page;
- ``Link: </api/...?offset=200&limit=100>; rel="next"`` (RFC 8288) when more follow: the same
  request with the next offset. A client that wants everything follows ``next`` until a page
  comes without one.

Both headers are exposed to browsers through CORS and declared in the OpenAPI description of
every route that depends on a :class:`Pager`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from starlette.datastructures import URL

from central.schemas.base import Page

__all__ = ["LINK_HEADER", "PAGE_HEADERS", "TOTAL_COUNT_HEADER", "Pager", "page_headers"]

TOTAL_COUNT_HEADER = "X-Total-Count"
LINK_HEADER = "Link"

PAGE_HEADERS: dict[str, dict[str, Any]] = {
    TOTAL_COUNT_HEADER: {
        "description": "How many items match, over every page",
        "schema": {"type": "integer", "minimum": 0},
    },
    LINK_HEADER: {
        "description": 'Present when more items follow: `<path?query>; rel="next"`, the same '
        "request with the next offset",
        "schema": {"type": "string"},
    },
}


def page_headers(url: URL, page: Page, total: int) -> dict[str, str]:
    """The paging headers of the page ``page`` of ``total`` matches, requested at ``url``."""
    headers = {TOTAL_COUNT_HEADER: str(total)}
    if page.limit is not None and page.offset + page.limit < total:
        following = url.include_query_params(offset=page.offset + page.limit, limit=page.limit)
        headers[LINK_HEADER] = f'<{following.path}?{following.query}>; rel="next"'
    return headers


class Pager:
    """A request's paging headers; routes get one through ``PagerDep``."""

    def __init__(self, request: Request, response: Response) -> None:
        self._url = request.url
        self._response = response

    def headers(self, page: Page, total: int) -> dict[str, str]:
        """The headers, for a route that builds its own :class:`Response`."""
        return page_headers(self._url, page, total)

    def publish(self, page: Page, total: int) -> None:
        """Put the headers on the route's response."""
        self._response.headers.update(self.headers(page, total))
