"""API tokens: create (the only time the plain token exists), authenticate, list, revoke."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.auth import Role, generate_token, hash_token
from central.db.models import ApiToken
from central.db.types import utcnow
from central.services.errors import NotFound

__all__ = ["authenticate", "create_token", "list_tokens", "revoke_token"]

logger = logging.getLogger(__name__)

DISPLAY_PREFIX_LENGTH = 12
# Recording every use would make each GET a write; a minute's precision is plenty for audits.
_LAST_USED_PRECISION = timedelta(minutes=1)


def create_token(session: Session, role: Role, name: str = "") -> tuple[ApiToken, str]:
    """Store a new token for ``role``; returns the row and the plain token, shown only now."""
    token = generate_token()
    row = ApiToken(
        name=name or f"{role.value} token",
        role=role.value,
        token_hash=hash_token(token),
        prefix=token[:DISPLAY_PREFIX_LENGTH],
    )
    session.add(row)
    session.commit()
    logger.info("created %s token %s (%s)", role.value, row.id, row.name)
    return row, token


def authenticate(session: Session, token: str) -> ApiToken | None:
    """The live token row for ``token``; None when unknown, revoked or of an unknown role."""
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None or row.role not in tuple(Role):
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_PRECISION:
        row.last_used_at = now
        session.commit()
    return row


def list_tokens(
    session: Session, *, limit: int | None = None, offset: int = 0
) -> tuple[list[ApiToken], int]:
    """A page of tokens, oldest first (revoked ones too), and how many there are in all."""
    total = session.scalar(select(func.count()).select_from(ApiToken)) or 0
    query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id).offset(offset).limit(limit)
    return list(session.scalars(query)), total


def revoke_token(session: Session, token_id: str) -> ApiToken:
    """Revoke a token (idempotent: revoking twice keeps the first time)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("token", token_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
        logger.info("revoked token %s (%s)", row.id, row.name)
    return row
