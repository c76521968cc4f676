"""Bases of every API schema: camelCase for the frontend, strict about input.

Per resource, as STYLE.md says: ``XCreate`` (request), ``XUpdate`` (request, every field optional:
only the fields sent change), ``XPublic`` (response, read from the ORM object). List endpoints
return a plain JSON array of ``XPublic`` (the frontend expects arrays), take ``limit``/``offset``
query parameters and put the total count in the ``X-Total-Count`` header.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "CamelModel", "Page", "RequestModel"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class CamelModel(BaseModel):
    """Serialises with camelCase names; accepts camelCase or snake_case; reads ORM objects."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        from_attributes=True,
    )


class RequestModel(CamelModel):
    """A request body: an unknown (say misspelt) field is a 422, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(CamelModel):
    """The query of a list endpoint; use as ``page: Annotated[Page, Query()]`` or subclass it to
    add filters. Unknown query parameters are ignored."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="items per page")
    offset: int = Field(0, ge=0, description="items to skip")
