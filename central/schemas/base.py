"""Bases of every API schema: camelCase for the frontend, strict about input.

Per resource, as STYLE.md says: ``XCreate`` (request), ``XUpdate`` (request, every field optional:
only the fields sent change), ``XPublic`` (response, read from the ORM object). List endpoints
return a plain JSON array of ``XPublic`` (the frontend expects arrays) and take a :class:`Page`
as their query; :mod:`central.api.pagination` writes the ``X-Total-Count`` and ``Link`` headers.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

__all__ = ["BRANCH_TAG_PREFIX", "DEFAULT_LIMIT", "MAX_LIMIT", "CamelModel", "Page", "RequestModel"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
BRANCH_TAG_PREFIX = "branch:"
"""Tags of a discriminated union's branches start with it: pydantic puts the tag in an error's
``loc``, and the API's 422 drops it, since it names no field the client sent."""


class CamelModel(BaseModel):
    """Serialises with camelCase names; accepts camelCase or snake_case; reads ORM objects."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        from_attributes=True,
    )


def _unstorable(value: Any) -> str | None:
    """Why ``value`` (or a string inside it) cannot be stored, if it cannot."""
    if isinstance(value, str):
        if "\x00" in value:
            return "text must not contain NUL characters"
        try:
            value.encode()
        except UnicodeEncodeError:
            return "text must be valid Unicode (it holds a lone surrogate)"
        return None
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple):
        return next((reason for item in value if (reason := _unstorable(item))), None)
    return None


class RequestModel(CamelModel):
    """A request body: an unknown (say misspelt) field is a 422, not silently ignored.

    Text no database can store (NUL characters, which PostgreSQL refuses, or lone surrogates,
    which are not UTF-8) is a 422 on its field too, instead of a 500 at insert time.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        reason = _unstorable(value)
        if reason is not None:
            raise ValueError(reason)
        return value


class Page(CamelModel):
    """The query of a list endpoint; use as ``page: Annotated[Page, Query()]`` or subclass it to
    add filters or a ``sort`` (a ``Literal`` of column names, ``-`` first for descending).
    Unknown query parameters are ignored."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="items per page")
    offset: int = Field(0, ge=0, le=2**31 - 1, description="items to skip")
