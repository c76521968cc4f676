"""Dataset management (ROADMAP.md section 7); every endpoint here needs the viewer role.

``POST /api/datasets/export`` answers with the dataset as one streamed zip (a folder per video,
``report.json`` at the end; see :mod:`central.services.datasets`), not with a JSON description.

``GET /api/videos/statistics`` lives here, and this router is included before the videos router,
so the path is not taken for ``GET /api/videos/{video_id}`` with the id "statistics".
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from central.api.deps import EventsDep, FactoryDep, SessionDep, require_role
from central.api.pagination import set_total
from central.api.routes.annotation_io import streamed_export_response
from central.auth import Role
from central.schemas.base import Page
from central.schemas.datasets import (
    DatasetExportRequest,
    DatasetQualityReport,
    DatasetStatistics,
    VideoStatisticsResponse,
)
from central.services import datasets

__all__ = ["router"]

router = APIRouter(tags=["datasets"], dependencies=[Depends(require_role(Role.VIEWER))])


@router.get("/api/datasets/statistics", response_model=DatasetStatistics)
def dataset_statistics(session: SessionDep) -> DatasetStatistics:
    """Videos, frames, annotations by VRU type and flag, boxes per frame, box sizes."""
    return DatasetStatistics.model_validate(datasets.dataset_statistics(session))


@router.get(
    "/api/datasets/quality-assessment",
    response_model=DatasetQualityReport,
    response_model_exclude_none=True,
)
def quality_assessment(session: SessionDep) -> DatasetQualityReport:
    """Each check with its count, up to 5 examples and a recommendation."""
    return DatasetQualityReport.model_validate(datasets.quality_assessment(session))


@router.post(
    "/api/datasets/export",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "The dataset, streamed"},
        404: {"description": "An unknown project or video"},
        409: {"description": "A video lacks what the format needs"},
    },
)
async def export_dataset(
    body: DatasetExportRequest, factory: FactoryDep, events: EventsDep
) -> StreamingResponse:
    """One zip: a folder per video with its single-video export, and ``report.json``."""
    selection = datasets.DatasetSelection(project_id=body.project_id, video_ids=body.video_ids)
    export = await run_in_threadpool(datasets.start_dataset_export, factory, selection, body.format)
    return streamed_export_response(export, events)


@router.get("/api/videos/statistics", response_model=VideoStatisticsResponse)
def video_statistics(
    session: SessionDep, response: Response, page: Annotated[Page, Query()]
) -> VideoStatisticsResponse:
    """Totals over every video and a page of per-video ground truth (total in X-Total-Count)."""
    statistics = datasets.video_statistics(session, limit=page.limit, offset=page.offset)
    set_total(response, statistics["total_videos"])
    return VideoStatisticsResponse.model_validate(statistics)
