"""``/api/tokens``: admins create, list and revoke API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from central.api.deps import PagerDep, SessionDep, require_role
from central.auth import Role
from central.schemas.base import Page
from central.schemas.tokens import TokenCreate, TokenCreated, TokenPublic
from central.services import tokens

__all__ = ["router"]

router = APIRouter(
    prefix="/api/tokens", tags=["tokens"], dependencies=[Depends(require_role(Role.ADMIN))]
)


@router.post("", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, session: SessionDep) -> TokenCreated:
    row, token = tokens.create_token(session, body.role, body.name)
    return TokenCreated.model_validate(
        {**TokenPublic.model_validate(row).model_dump(), "token": token}
    )


@router.get("", response_model=list[TokenPublic])
def list_tokens(
    session: SessionDep, pager: PagerDep, page: Annotated[Page, Query()]
) -> list[TokenPublic]:
    """Every token ever made, oldest first, revoked ones included; never the secret itself."""
    rows, total = tokens.list_tokens(session, limit=page.limit, offset=page.offset)
    pager.publish(page, total)
    return [TokenPublic.model_validate(row) for row in rows]


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: str, session: SessionDep) -> None:
    tokens.revoke_token(session, token_id)
