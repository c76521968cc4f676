"""Dataset management (ROADMAP.md section 7); every endpoint here needs the viewer role.

``POST /api/datasets/export`` answers with the dataset as one streamed zip (a folder per video,
``report.json`` at the end; see :mod:`central.services.datasets`), or, to ``Accept:
application/json``, with a :class:`DatasetExportResponse` whose signed URL streams that zip.

``GET /api/videos/statistics`` lives here, and this router is included before the videos router,
so the path is not taken for ``GET /api/videos/{video_id}`` with the id "statistics".
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from central.api.deps import EventsDep, FactoryDep, PagerDep, SessionDep, SettingsDep, require_role
from central.api.openapi import error_responses
from central.api.routes.annotation_io import streamed_export_response
from central.auth import Role
from central.schemas.base import Page
from central.schemas.datasets import (
    DatasetExportRequest,
    DatasetExportResponse,
    DatasetQualityReport,
    DatasetStatistics,
    VideoStatisticsResponse,
)
from central.services import dataset_downloads, datasets

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
        200: {
            "model": DatasetExportResponse,
            "content": {"application/zip": {}},
            "description": "The dataset, streamed; to Accept: application/json, its description "
            "and a signed download URL",
        },
        **error_responses(status.HTTP_404_NOT_FOUND, status.HTTP_409_CONFLICT),
    },
)
async def export_dataset(
    body: DatasetExportRequest,
    request: Request,
    factory: FactoryDep,
    settings: SettingsDep,
    events: EventsDep,
) -> Response:
    """One zip: a folder per video with its single-video export, and ``report.json``; to
    ``Accept: application/json``, the export's counts and a URL that streams that zip."""
    selection = datasets.DatasetSelection(project_id=body.project_id, video_ids=body.video_ids)
    export = await run_in_threadpool(datasets.start_dataset_export, factory, selection, body.format)
    if not _wants_json(request.headers.get("accept", "")):
        return streamed_export_response(export, events)
    stored = dataset_downloads.StoredExportRequest(body.format, body.project_id, body.video_ids)
    offer = await run_in_threadpool(
        dataset_downloads.offer_download, settings.data_dir, stored, export
    )
    answer = DatasetExportResponse.model_validate(offer)
    return JSONResponse(answer.model_dump(mode="json", by_alias=True))


def _wants_json(accept: str) -> bool:
    """JSON only when asked for by name: ``*/*`` and zip-accepting clients get the zip."""
    media_types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return "application/json" in media_types and "application/zip" not in media_types


@router.get("/api/videos/statistics", response_model=VideoStatisticsResponse)
def video_statistics(
    session: SessionDep, pager: PagerDep, page: Annotated[Page, Query()]
) -> VideoStatisticsResponse:
    """Totals over every video and a page of per-video ground truth (total in X-Total-Count)."""
    statistics = datasets.video_statistics(session, limit=page.limit, offset=page.offset)
    pager.publish(page, statistics["total_videos"])
    return VideoStatisticsResponse.model_validate(statistics)
