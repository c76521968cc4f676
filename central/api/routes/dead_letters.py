"""``/api/dead-letters``: MQTT messages central refused, newest first (operators and admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from central.api.deps import PagerDep, SessionDep, require_role
from central.auth import Role
from central.ingest import queries as ingest_queries
from central.schemas.dead_letters import DeadLetterPage, DeadLetterPublic

__all__ = ["router"]

router = APIRouter(
    prefix="/api/dead-letters",
    tags=["dead letters"],
    dependencies=[Depends(require_role(Role.OPERATOR))],
)


@router.get("", response_model=list[DeadLetterPublic])
def list_dead_letters(
    session: SessionDep, pager: PagerDep, page: Annotated[DeadLetterPage, Query()]
) -> list[DeadLetterPublic]:
    """Refused messages, newest first (of one rig, with ``rigId``)."""
    rows, total = ingest_queries.list_dead_letters(
        session, limit=page.limit, offset=page.offset, rig_id=page.rig_id
    )
    pager.publish(page, total)
    return [DeadLetterPublic.model_validate(row) for row in rows]


@router.get("/counts", response_model=dict[str, int])
def count_dead_letters(session: SessionDep) -> dict[str, int]:
    """Dead letters per reason kind, over everything stored."""
    return ingest_queries.count_dead_letters(session)
