"""Exception handlers: every expected failure becomes a clear 4xx, never a 500.

    NotFound 404 · Conflict and IntegrityError 409 · TooLarge 413 · Unsupported 415 ·
    InvalidInput, RequestValidationError, DataError and OverflowError 422

The last two are safety nets: a value the schemas let through but the database cannot store (a
number past a column's range) is still the client's error, not the server's.

A 422 body lists one entry per bad field, as FastAPI's own does:
``{"detail": [{"loc": ["body", "name"], "msg": "...", "type": "..."}]}``. Every other error body is
``{"detail": "message"}``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError

from central.schemas.base import BRANCH_TAG_PREFIX
from central.services.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    ServiceError,
    TooLarge,
    Unsupported,
)

__all__ = ["install_error_handlers"]

logger = logging.getLogger(__name__)

_STATUS: dict[type[ServiceError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    TooLarge: status.HTTP_413_CONTENT_TOO_LARGE,
    Unsupported: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    InvalidInput: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


def _client_loc(loc: Any) -> list[Any]:
    """``loc`` in the client's names: without the tags of union branches, which pydantic adds."""
    return [
        part for part in loc if not (isinstance(part, str) and part.startswith(BRANCH_TAG_PREFIX))
    ]


def _field_errors(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's error entries without ``input`` and ``ctx``, which may hold unserialisable
    objects (exceptions) or echo large uploads back."""
    return [
        {
            "loc": _client_loc(e["loc"]),
            "msg": e["msg"].removeprefix("Value error, "),
            "type": e["type"],
        }
        for e in errors
    ]


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    code = next(code for kind, code in _STATUS.items() if isinstance(exc, kind))
    if isinstance(exc, InvalidInput):
        loc = ["body", *exc.field.split(".")] if exc.field else ["body"]
        body: Any = [{"loc": loc, "msg": exc.message, "type": "value_error"}]
    else:
        body = exc.message
    return JSONResponse({"detail": body}, status_code=code)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        {"detail": _field_errors(exc.errors())},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    """A constraint the service did not foresee (or a race it lost): a 409 naming the constraint."""
    assert isinstance(exc, IntegrityError)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else "constraint"
    logger.info("integrity error mapped to 409: %s", reason)
    return JSONResponse(
        {"detail": f"the request conflicts with stored data ({reason})"},
        status_code=status.HTTP_409_CONFLICT,
    )


async def _unstorable_value(_request: Request, exc: Exception) -> JSONResponse:
    """A value out of the database's range: 422, without echoing SQL or parameters."""
    reason = exc.orig if isinstance(exc, DataError) and exc.orig is not None else exc
    message = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__
    logger.info("unstorable value mapped to 422: %s", message)
    return JSONResponse(
        {
            "detail": [
                {
                    "loc": ["body"],
                    "msg": f"a value cannot be stored: {message}",
                    "type": "value_error",
                }
            ]
        },
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _unstorable_value)
    app.add_exception_handler(OverflowError, _unstorable_value)
