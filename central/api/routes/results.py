"""``/api/test-sessions/{id}/detailed-results|detection-comparison|latency-metrics``: results.

Viewers read. While a session runs these serve the live, provisional figures.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from central.api.deps import ExecutorDep, SessionDep, require_role
from central.api.pagination import set_total
from central.auth import Role
from central.execution import queries as result_queries
from central.schemas.results import (
    ComparisonQuery,
    DetailedResultsPublic,
    DetectionComparisonPublic,
    LatencyMetricsPublic,
)

__all__ = ["router"]

router = APIRouter(
    prefix="/api/test-sessions",
    tags=["results"],
    dependencies=[Depends(require_role(Role.VIEWER))],
)


@router.get("/{session_id}/detailed-results", response_model=DetailedResultsPublic)
def get_detailed_test_results(
    session_id: str, session: SessionDep, executor: ExecutorDep
) -> DetailedResultsPublic:
    data = result_queries.detailed_results(session, session_id, executor.live.progress(session_id))
    return DetailedResultsPublic.model_validate(data)


@router.get("/{session_id}/detection-comparison", response_model=list[DetectionComparisonPublic])
def get_detection_comparisons(
    session_id: str,
    session: SessionDep,
    response: Response,
    query: Annotated[ComparisonQuery, Query()],
) -> list[DetectionComparisonPublic]:
    rows, total = result_queries.list_comparisons(
        session,
        session_id,
        match_type=query.match_type.value if query.match_type is not None else None,
        limit=query.limit,
        offset=query.offset,
    )
    set_total(response, total)
    return [DetectionComparisonPublic.model_validate(row) for row in rows]


@router.get("/{session_id}/latency-metrics", response_model=LatencyMetricsPublic)
def get_latency_metrics(
    session_id: str, session: SessionDep, executor: ExecutorDep
) -> LatencyMetricsPublic:
    data = result_queries.latency_metrics(
        session, session_id, executor.live.latencies_ms(session_id)
    )
    return LatencyMetricsPublic.model_validate(data)
