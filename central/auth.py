"""Roles and bearer tokens, free of any web framework (the FastAPI side is ``central.api.deps``).

Roles are ordered: each one may do everything the ones below it may.

    viewer < annotator < operator < admin

Tokens are 256 random bits, so a plain SHA-256 is a safe way to store them: there is nothing to
brute-force that a salt or a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["TOKEN_PREFIX", "Principal", "Role", "generate_token", "hash_token"]

TOKEN_PREFIX = "vru_"
"""Every token starts with this, so a leaked one is easy to recognise (and to grep for)."""


class Role(StrEnum):
    VIEWER = "viewer"
    ANNOTATOR = "annotator"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """True when this role may do what ``needed`` may."""
        return self.rank >= needed.rank


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: a token's id, name and role (no token at all when auth is off)."""

    role: Role
    token_id: str | None
    name: str


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
