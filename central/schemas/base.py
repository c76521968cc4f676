"""Bases of every API schema: camelCase for the frontend, strict about input.

Per resource, as STYLE.md says: ``XCreate`` (request), ``XUpdate`` (request, every field optional:
only the fields sent change), ``XPublic`` (response, read from the ORM object). List endpoints
return a plain JSON array of ``XPublic`` (the frontend expects arrays), take ``limit``/``offset``
query parameters and put the total count in the ``X-Total-Count`` header.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = ["CamelModel", "RequestModel"]


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
