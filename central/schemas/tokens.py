"""API tokens. The plain token appears once, in the answer to its creation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from central.auth import Role
from central.schemas.base import CamelModel, RequestModel

__all__ = ["TokenCreate", "TokenCreated", "TokenPublic"]


class TokenCreate(RequestModel):
    role: Role
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] = ""


class TokenPublic(CamelModel):
    id: str
    name: str
    role: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str
    """The bearer token itself; it is not stored and cannot be shown again."""
