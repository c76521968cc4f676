"""What each operation declares besides its success: error statuses with their bodies, and the
paging headers of lists, so that a client (or schemathesis) can rely on the description.

:func:`document_responses` adds what follows from a route's shape: 401 and 403 where a role is
required, 404 where the path names a resource, 400 (a body that is not text) and 422 where
anything is read from the request, and
``X-Total-Count``/``Link`` where the route pages with a :class:`~central.api.pagination.Pager`.
A route adds the statuses only it answers (409, 413, ...) with ``responses=error_responses(...)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from central.api.deps import required_role
from central.api.pagination import PAGE_HEADERS, Pager
from central.schemas.errors import ErrorMessage, ValidationErrorBody

__all__ = ["document_responses", "error_responses", "multipart_body"]

_DESCRIPTIONS = {
    status.HTTP_400_BAD_REQUEST: "The request is not of the form the operation takes",
    status.HTTP_401_UNAUTHORIZED: "No token, or an unknown or revoked one",
    status.HTTP_403_FORBIDDEN: "The token's role is too low; the message names the role needed",
    status.HTTP_404_NOT_FOUND: "An unknown id, in the path or referenced in the request",
    status.HTTP_409_CONFLICT: "The request conflicts with stored data",
    status.HTTP_413_CONTENT_TOO_LARGE: "The body is larger than the limit",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "The upload is not what it claims to be",
    status.HTTP_416_RANGE_NOT_SATISFIABLE: "The range lies outside the file",
    status.HTTP_422_UNPROCESSABLE_CONTENT: "Bad input, one entry per field",
    status.HTTP_503_SERVICE_UNAVAILABLE: "A part the operation needs is not available",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route for error ``codes``, each with its body's model."""
    return {
        code: {
            "model": ValidationErrorBody
            if code == status.HTTP_422_UNPROCESSABLE_CONTENT
            else ErrorMessage,
            "description": _DESCRIPTIONS[code],
        }
        for code in codes
    }


def multipart_body(file_field: str, **text_fields: str) -> dict[str, Any]:
    """``openapi_extra=`` of a route that reads a ``multipart/form-data`` upload itself: the
    file in ``file_field`` and optional ``text_fields`` (name: description)."""
    properties: dict[str, Any] = {file_field: {"type": "string", "format": "binary"}}
    properties |= {
        name: {"type": "string", "description": text} for name, text in text_fields.items()
    }
    schema = {"type": "object", "properties": properties, "required": [file_field]}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _reads_params(route: APIRoute) -> bool:
    return any(
        d.path_params or d.query_params or d.header_params for d in _dependants(route.dependant)
    )


def _reads_body(route: APIRoute) -> bool:
    declared = "requestBody" in (route.openapi_extra or {})
    return declared or any(d.body_params for d in _dependants(route.dependant))


def _pages(route: APIRoute) -> bool:
    return any(d.call is Pager for d in _dependants(route.dependant))


def document_responses(router: APIRouter) -> None:
    """Declare, on every route of ``router``, the statuses and headers its shape implies.

    Call it before the router is included in the app.
    """
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        codes = []
        if required_role(router, route) is not None:
            codes += [status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN]
        if route.dependant.path_params:
            codes.append(status.HTTP_404_NOT_FOUND)
        if _reads_body(route):
            # Starlette's answer to a body that is not text (bytes that are not UTF-8).
            codes.append(status.HTTP_400_BAD_REQUEST)
        if _reads_body(route) or _reads_params(route):
            codes.append(status.HTTP_422_UNPROCESSABLE_CONTENT)
        route.responses = {**error_responses(*codes), **route.responses}
        if _pages(route):
            success = route.responses.setdefault(route.status_code or status.HTTP_200_OK, {})
            success["headers"] = {**PAGE_HEADERS, **success.get("headers", {})}
