"""Annotation export and import (ROADMAP.md section 2): viewers export, annotators import.

``GET /api/videos/{id}/annotations/export?format=json|coco|yolo|pascal_voc|mot`` streams the file as
it is written (an attachment). What was clipped, dropped or could not be carried is in the file
itself (see :mod:`central.services.annotation_io`); the ``X-Export-Report`` header, sent before
the body, says what was known then (format, stored annotations) and where the report is.

``POST /api/videos/{id}/annotations/import?format=...&onConflict=skip|replace|merge&dryRun=``
takes the file as ``multipart/form-data`` field ``file`` (a zip for YOLO and VOC; a zip or the bare text for MOT), streamed to
disk under the upload limit (413). A refused file is a 422 listing each issue with ``file``,
``line``, ``element`` and ``field``, and writes nothing.

Both report progress on Socket.IO (``export_progress``, ``import_progress``) through the
:class:`~central.events.EventSink`, which thins out repeats of one stage.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from central.api.deps import EventsDep, FactoryDep, SessionDep, SettingsDep, require_role
from central.api.openapi import error_responses, multipart_body
from central.auth import Role
from central.config import CentralSettings
from central.events import EventSink
from central.formats import DEFAULT_LIMITS, AnnotationImportError
from central.schemas.annotation_io import (
    AnnotationFormatName,
    ConflictPolicy,
    ImportReportPublic,
    ImportResultPublic,
)
from central.services import annotation_io, videos
from central.services.annotation_io import StreamedExport
from central.services.uploads import ReceivedUpload, receive_multipart_upload

__all__ = [
    "EXPORT_REPORT_HEADER",
    "import_errors",
    "receive_import_file",
    "router",
    "streamed_export_response",
]

logger = logging.getLogger(__name__)

router = APIRouter(tags=["annotation import and export"])

EXPORT_REPORT_HEADER = "X-Export-Report"
_IMPORTS_DIRNAME = "imports"

_FILE_FIELD = "file"
FormatQuery = Annotated[AnnotationFormatName, Query(alias="format")]


async def _export_chunks(export: StreamedExport, events: EventSink) -> AsyncIterator[bytes]:
    """The export's chunks, each made in a worker thread; progress events in between (the
    event sink thins them out)."""
    chunks = export.chunks
    progress = export.progress
    base = {"format": export.format, "filename": export.filename, "videos": len(export.video_ids)}

    def emit(stage: str, **extra: Any) -> None:
        video_id = progress.video_id or next(iter(export.video_ids), None)
        if video_id is None:
            return
        done = {"done": progress.done, "total": progress.total}
        events.export_progress(video_id, {**base, **done, "stage": stage, **extra})

    emit("started")
    try:
        while (chunk := await run_in_threadpool(next, chunks, None)) is not None:
            yield chunk
            emit("exporting")
    except Exception as exc:
        logger.exception(
            "export of %d videos as %s failed mid-stream (at video %s)",
            len(export.video_ids),
            export.format,
            progress.video_id,
        )
        emit("failed", error=str(exc))
        raise
    finally:
        chunks_close = getattr(chunks, "close", None)
        if chunks_close is not None:
            chunks_close()
    emit("completed", report=export.report_summary())


def streamed_export_response(export: StreamedExport, events: EventSink) -> StreamingResponse:
    return StreamingResponse(
        _export_chunks(export, events),
        media_type=export.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            EXPORT_REPORT_HEADER: orjson.dumps(export.header_summary()).decode(),
        },
    )


_EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/json": {}, "application/zip": {}},
        "description": "The file, streamed; JSON for json and coco, a zip for yolo, pascal_voc "
        "and mot",
    },
    **error_responses(status.HTTP_409_CONFLICT),
}


@router.get(
    "/api/videos/{video_id}/annotations/export",
    response_class=StreamingResponse,
    dependencies=[Depends(require_role(Role.VIEWER))],
    responses=_EXPORT_RESPONSES,
)
async def export_annotations(
    video_id: str, factory: FactoryDep, events: EventsDep, format_: FormatQuery = "json"
) -> StreamingResponse:
    """The video's ground truth as a file in ``format``."""
    export = await run_in_threadpool(annotation_io.start_video_export, factory, video_id, format_)
    return streamed_export_response(export, events)


def import_errors(exc: AnnotationImportError) -> list[dict[str, Any]]:
    """One 422 entry per issue, with where it is (file, line, element, field)."""
    entries: list[dict[str, Any]] = [
        {
            "loc": ["body", _FILE_FIELD],
            "msg": str(issue),
            "type": "import_refused",
            **issue.to_dict(),
        }
        for issue in exc.issues
    ]
    if exc.more_issues:
        entries.append(
            {
                "loc": ["body", _FILE_FIELD],
                "msg": f"and {exc.more_issues} more issues",
                "type": "import_refused",
            }
        )
    return entries


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


async def receive_import_file(request: Request, settings: CentralSettings) -> ReceivedUpload:
    """The upload of an import (form field ``file``), streamed to disk under the upload limit
    (413 past it)."""
    return await receive_multipart_upload(
        request.stream(),
        request.headers.get("content-type"),
        file_field=_FILE_FIELD,
        directory=settings.data_dir / _IMPORTS_DIRNAME,
        max_file_bytes=min(settings.max_upload_bytes, DEFAULT_LIMITS.max_file_bytes),
        declared_length=_content_length(request),
    )


@router.post(
    "/api/videos/{video_id}/annotations/import",
    response_model=ImportResultPublic,
    dependencies=[Depends(require_role(Role.ANNOTATOR))],
    openapi_extra=multipart_body(_FILE_FIELD),
    responses={
        **error_responses(status.HTTP_400_BAD_REQUEST, status.HTTP_409_CONFLICT),
        **error_responses(status.HTTP_413_CONTENT_TOO_LARGE, status.HTTP_422_UNPROCESSABLE_CONTENT),
    },
)
async def import_annotations(
    video_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    events: EventsDep,
    format_: FormatQuery = "json",
    on_conflict: Annotated[ConflictPolicy, Query(alias="onConflict")] = ConflictPolicy.SKIP,
    dry_run: Annotated[bool, Query(alias="dryRun")] = False,
) -> ImportResultPublic:
    """Import a file (form field ``file``) into the video: all of it, or nothing."""
    await run_in_threadpool(videos.get_video, session, video_id)
    upload = await receive_import_file(request, settings)
    stages = {"format": format_, "dry_run": dry_run, "on_conflict": on_conflict.value}
    events.import_progress(video_id, {**stages, "stage": "received", "bytes": upload.size_bytes})
    try:
        outcome = await run_in_threadpool(
            lambda: annotation_io.import_annotations(
                session,
                video_id,
                format_,
                upload.path,
                filename=videos.display_name(upload.filename),
                on_conflict=on_conflict,
                dry_run=dry_run,
                # Every stage carries the import's settings (format, dryRun, onConflict).
                progress=lambda update: events.import_progress(video_id, {**stages, **update}),
            )
        )
    except AnnotationImportError as exc:
        events.import_progress(
            video_id, {**stages, "stage": "refused", "issues": len(exc.issues) + exc.more_issues}
        )
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, import_errors(exc)) from exc
    finally:
        upload.path.unlink(missing_ok=True)
    counts = {
        name: getattr(outcome, name)
        for name in ("created", "updated", "skipped", "deleted", "unchanged")
    }
    events.import_progress(video_id, {**stages, "stage": "completed", **counts})
    return ImportResultPublic(
        video_id=video_id,
        format=format_,
        dry_run=dry_run,
        on_conflict=on_conflict,
        **counts,
        report=ImportReportPublic.model_validate(outcome.report.to_dict()),
    )
