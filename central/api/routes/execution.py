"""``/api/test-sessions/{id}/start|stop|recompute|detection-comparison``: running a session.

Operators run sessions. Start takes the ``TestExecutionConfig`` as its body (or, without one,
the config stored when the session was created) and answers once the rig acknowledged: the
session comes back ``running``, or ``failed`` with ``failureReason``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from central.api.deps import ExecutorDep, require_role
from central.auth import Role
from central.execution.results import FinalResults
from central.schemas.execution import (
    DetectionVerdictPublic,
    FinalResultsPublic,
    HttpDetection,
    HttpDetectionBatch,
)
from central.schemas.test_sessions import ExecutionConfigCreate, TestSessionPublic

__all__ = ["router"]

router = APIRouter(
    prefix="/api/test-sessions",
    tags=["test execution"],
    dependencies=[Depends(require_role(Role.OPERATOR))],
)


def _final(final: FinalResults) -> FinalResultsPublic:
    return FinalResultsPublic(
        test_session_id=final.session_id, status=final.status, results=final.results
    )


@router.post("/{session_id}/start", response_model=TestSessionPublic)
async def start_test_execution(
    session_id: str,
    executor: ExecutorDep,
    config: Annotated[ExecutionConfigCreate | None, Body()] = None,
) -> TestSessionPublic:
    values = config.model_dump() if config is not None else None
    return TestSessionPublic.model_validate(await executor.start(session_id, values))


@router.post("/{session_id}/stop", response_model=FinalResultsPublic)
async def stop_test_execution(session_id: str, executor: ExecutorDep) -> FinalResultsPublic:
    return _final(await executor.stop(session_id))


@router.post("/{session_id}/recompute", response_model=FinalResultsPublic)
async def recompute_results(session_id: str, executor: ExecutorDep) -> FinalResultsPublic:
    return _final(await executor.recompute(session_id))


@router.post("/{session_id}/detection-comparison", response_model=list[DetectionVerdictPublic])
async def compare_with_ground_truth(
    session_id: str,
    executor: ExecutorDep,
    body: Annotated[HttpDetectionBatch | HttpDetection, Body()],
) -> list[DetectionVerdictPublic]:
    detections = body.detections if isinstance(body, HttpDetectionBatch) else [body]
    verdicts = await executor.post_detections(session_id, [d.as_record() for d in detections])
    return [DetectionVerdictPublic.model_validate(v) for v in verdicts]
