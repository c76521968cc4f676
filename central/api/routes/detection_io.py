"""A test session's detections as MOTChallenge text (issue 12, item 6).

``GET /api/test-sessions/{id}/detections/export?format=mot`` (viewer) streams a zip holding
``data/<video>.txt``, ``track_ids.json`` and ``export_report.json``, for TrackEval or
py-motmetrics against the video's ground truth exported with ``format=mot``.

``POST /api/test-sessions/{id}/detections/import?format=mot&dryRun=`` (operator) takes that zip
or a bare MOT text file as ``multipart/form-data`` field ``file`` and stores its detections in
the running session as if they had been posted to ``detection-comparison``: for sessions
without a rig. A refused file is a 422 naming each bad line and stores nothing; ``dryRun``
checks the file against the session's video (the session need not run yet) and stores nothing.
See :mod:`central.execution.detection_io`.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from central.api.deps import (
    EventsDep,
    ExecutorDep,
    FactoryDep,
    SessionDep,
    SettingsDep,
    require_role,
)
from central.api.openapi import error_responses, multipart_body
from central.api.routes.annotation_io import (
    import_errors,
    receive_import_file,
    streamed_export_response,
)
from central.auth import Role
from central.execution import detection_io
from central.execution.loading import load_session
from central.formats import AnnotationImportError
from central.schemas.annotation_io import ImportReportPublic
from central.schemas.detection_io import DetectionFormatName, DetectionImportResultPublic
from central.services import videos

__all__ = ["router"]

router = APIRouter(prefix="/api/test-sessions", tags=["test session detections"])

_FILE_FIELD = "file"
FormatQuery = Annotated[DetectionFormatName, Query(alias="format")]


@router.get(
    "/{session_id}/detections/export",
    response_class=StreamingResponse,
    dependencies=[Depends(require_role(Role.VIEWER))],
    responses={
        200: {
            "content": {"application/zip": {}},
            "description": "The zip, streamed: data/<video>.txt, track_ids.json, "
            "export_report.json",
        }
    },
)
async def export_session_detections(
    session_id: str, factory: FactoryDep, events: EventsDep, format_: FormatQuery = "mot"
) -> StreamingResponse:
    """The session's detection records as MOTChallenge text in a zip."""
    export = await run_in_threadpool(detection_io.start_detections_export, factory, session_id)
    return streamed_export_response(export, events)


@router.post(
    "/{session_id}/detections/import",
    response_model=DetectionImportResultPublic,
    dependencies=[Depends(require_role(Role.OPERATOR))],
    openapi_extra=multipart_body(_FILE_FIELD),
    responses={
        **error_responses(status.HTTP_400_BAD_REQUEST, status.HTTP_409_CONFLICT),
        **error_responses(status.HTTP_413_CONTENT_TOO_LARGE, status.HTTP_422_UNPROCESSABLE_CONTENT),
    },
)
async def import_session_detections(
    session_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    executor: ExecutorDep,
    format_: FormatQuery = "mot",
    dry_run: Annotated[bool, Query(alias="dryRun")] = False,
) -> DetectionImportResultPublic:
    """Store a MOT file's detections (form field ``file``) in the running session: all or none."""
    await run_in_threadpool(load_session, session, session_id)
    upload = await receive_import_file(request, settings)
    try:
        parsed = await run_in_threadpool(
            lambda: detection_io.parse_session_detections(
                session,
                session_id,
                upload.path,
                filename=videos.display_name(upload.filename),
                dry_run=dry_run,
            )
        )
    except AnnotationImportError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, import_errors(exc)) from exc
    finally:
        upload.path.unlink(missing_ok=True)
    verdicts: Counter[str] = Counter()
    if not dry_run and parsed.detections:
        stored = await executor.post_detections(
            session_id, detection_io.as_http_records(parsed.detections)
        )
        verdicts.update(str(row["match_type"]) for row in stored)
    return DetectionImportResultPublic(
        test_session_id=session_id,
        format=format_,
        dry_run=dry_run,
        detections=len(parsed.detections),
        frames=parsed.report.frames,
        tracks=parsed.tracks,
        verdicts=dict(verdicts),
        report=ImportReportPublic.model_validate(parsed.report.to_dict()),
    )
