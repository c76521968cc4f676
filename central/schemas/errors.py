"""Error bodies, as :mod:`central.api.errors` writes them, for the OpenAPI description.

``{"detail": "message"}`` for every error but a 422, which lists one entry per bad field:
``{"detail": [{"loc": ["body", "name"], "msg": "...", "type": "..."}]}``. The field names are the
client's (``body``, ``query``, ``path`` or ``header``, then the name it sent), never a validator's.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ErrorMessage", "FieldError", "ValidationErrorBody"]


class ErrorMessage(BaseModel):
    detail: str = Field(description="what went wrong, for a human")


class FieldError(BaseModel):
    """One bad field; an import refusal adds where in the file (``file``, ``line``, ...)."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int] = Field(description="where: body, query, path or header, then the field")
    msg: str
    type: str = Field(description="a machine-readable kind, such as missing or value_error")


class ValidationErrorBody(BaseModel):
    detail: list[FieldError]
