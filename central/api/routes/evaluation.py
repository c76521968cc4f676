"""``/api/test-sessions/{id}/tracks`` and ``/{a}/compare/{b}``: the evaluation beyond the
verdict (issue #12).

Viewers read. Tracks exist once a session has final results; the summaries are in
``detailed-results`` under ``results.evaluation``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from central.api.deps import SessionDep, require_role
from central.api.pagination import set_total
from central.auth import Role
from central.execution import queries as result_queries
from central.execution.comparison import compare_sessions
from central.schemas.evaluation import SessionComparisonPublic, TrackQuery, TrackResultPublic

__all__ = ["router"]

router = APIRouter(
    prefix="/api/test-sessions",
    tags=["results"],
    dependencies=[Depends(require_role(Role.VIEWER))],
)


@router.get("/{session_id}/tracks", response_model=list[TrackResultPublic])
def list_ground_truth_tracks(
    session_id: str,
    session: SessionDep,
    response: Response,
    query: Annotated[TrackQuery, Query()],
) -> list[TrackResultPublic]:
    rows, total = result_queries.list_tracks(
        session,
        session_id,
        vru_type=str(query.vru_type) if query.vru_type is not None else None,
        missed=query.missed,
        limit=query.limit,
        offset=query.offset,
    )
    set_total(response, total)
    return [TrackResultPublic.model_validate(row) for row in rows]


@router.get("/{session_a}/compare/{session_b}", response_model=SessionComparisonPublic)
def compare_test_sessions(
    session_a: str, session_b: str, session: SessionDep
) -> SessionComparisonPublic:
    """Session B against session A on the same video: flips, McNemar's test, TTFD difference."""
    return SessionComparisonPublic.model_validate(compare_sessions(session, session_a, session_b))
