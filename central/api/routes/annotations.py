"""Ground-truth annotations (ROADMAP.md section 1): annotators write, viewers read.

``POST /api/videos/{id}/annotations/bulk`` takes ``{"annotations": [...]}`` (up to 200,000) and
writes all or none in one transaction. The list takes filters (``frameStart``, ``frameEnd``,
``timeStart``, ``timeEnd``, ``vruType``, ``validated``) and ``limit``/``offset`` (no limit: every
match), ordered by frame, and puts the number of matches in ``X-Total-Count``.

A 422 lists every bad field, of every bad row of a bulk request, as FastAPI's own 422 does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from central.api.deps import EventsDep, SessionDep, require_role
from central.api.gc_pause import gc_paused
from central.api.pagination import set_total
from central.auth import Role
from central.events import EventSink
from central.schemas.annotations import (
    BULK_ANNOTATIONS,
    BULK_BODY_MAX,
    AnnotationCreate,
    AnnotationListQuery,
    AnnotationPublic,
    AnnotationUpdate,
    AnnotationValidate,
    BulkAnnotationResult,
    annotations_json,
)
from central.services import annotations as annotation_service
from central.services.annotations import InvalidAnnotations
from central.services.uploads import read_limited

__all__ = ["router"]

router = APIRouter(tags=["annotations"])

_VIEWER = [Depends(require_role(Role.VIEWER))]
_ANNOTATOR = [Depends(require_role(Role.ANNOTATOR))]
_BULK_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": BULK_ANNOTATIONS.json_schema()}},
    }
}


def _request_errors(problems: list[tuple[tuple[Any, ...], str, str]]) -> RequestValidationError:
    return RequestValidationError(
        [
            {"loc": ("body", *where), "msg": message, "type": kind}
            for where, message, kind in problems
        ]
    )


def _annotation_errors(exc: InvalidAnnotations) -> RequestValidationError:
    return _request_errors([(where, message, "value_error") for where, message in exc.problems])


@router.post(
    "/api/videos/{video_id}/annotations",
    response_model=AnnotationPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=_ANNOTATOR,
)
def create_annotation(
    video_id: str,
    body: AnnotationCreate,
    session: SessionDep,
    events: EventsDep,
) -> AnnotationPublic:
    """One box; give ``frameNumber``, ``timestamp`` (s) or both (they must agree)."""
    try:
        created = annotation_service.create_annotation(session, video_id, body, events)
    except InvalidAnnotations as exc:
        raise _annotation_errors(exc) from exc
    return AnnotationPublic.model_validate(created)


@router.post(
    "/api/videos/{video_id}/annotations/bulk",
    response_model=BulkAnnotationResult,
    status_code=status.HTTP_201_CREATED,
    dependencies=_ANNOTATOR,
    openapi_extra=_BULK_BODY,
)
async def bulk_create_annotations(
    video_id: str,
    request: Request,
    session: SessionDep,
    events: EventsDep,
) -> BulkAnnotationResult:
    """All of the annotations, or none if any is bad (422) or repeats a detection id on a frame
    (409). The body (at most 64 MiB, else 413) is parsed and validated by pydantic straight from
    JSON, the fast path for requests of many thousand rows."""
    raw = await read_limited(request.stream(), BULK_BODY_MAX)
    # Validating and storing 100,000 rows takes a second or two: not on the event loop.
    created = await run_in_threadpool(_bulk_create, session, video_id, raw, events)
    return BulkAnnotationResult(video_id=video_id, created=created)


def _bulk_create(session: Session, video_id: str, raw: bytes, events: EventSink) -> int:
    with gc_paused():
        try:
            body = BULK_ANNOTATIONS.validate_json(raw)
        except ValidationError as exc:
            errors = [(e["loc"], e["msg"], e["type"]) for e in exc.errors()]
            raise _request_errors(errors) from exc
        try:
            return annotation_service.bulk_create_annotations(
                session, video_id, body["annotations"], events
            )
        except InvalidAnnotations as exc:
            raise _annotation_errors(exc) from exc


@router.get(
    "/api/videos/{video_id}/annotations",
    response_model=list[AnnotationPublic],
    dependencies=_VIEWER,
)
def list_annotations(
    video_id: str, session: SessionDep, query: Annotated[AnnotationListQuery, Query()]
) -> Response:
    rows, total = annotation_service.list_annotations(session, video_id, query)
    response = Response(annotations_json(rows), media_type="application/json")
    set_total(response, total)
    return response


@router.get(
    "/api/annotations/detection/{detection_id}",
    response_model=list[AnnotationPublic],
    dependencies=_VIEWER,
)
def list_by_detection(
    detection_id: str,
    session: SessionDep,
    video_id: Annotated[str | None, Query(alias="videoId")] = None,
) -> list[AnnotationPublic]:
    """Every box of one track, in frame order (of one video, if ``videoId`` is given)."""
    rows = annotation_service.list_by_detection(session, detection_id, video_id=video_id)
    return [AnnotationPublic.model_validate(row) for row in rows]


@router.get(
    "/api/annotations/{annotation_id}", response_model=AnnotationPublic, dependencies=_VIEWER
)
def get_annotation(annotation_id: str, session: SessionDep) -> AnnotationPublic:
    return AnnotationPublic.model_validate(
        annotation_service.get_annotation(session, annotation_id)
    )


@router.put(
    "/api/annotations/{annotation_id}", response_model=AnnotationPublic, dependencies=_ANNOTATOR
)
def update_annotation(
    annotation_id: str,
    body: AnnotationUpdate,
    session: SessionDep,
    events: EventsDep,
) -> AnnotationPublic:
    """Change the fields sent (the others stay)."""
    try:
        updated = annotation_service.update_annotation(session, annotation_id, body, events)
    except InvalidAnnotations as exc:
        raise _annotation_errors(exc) from exc
    return AnnotationPublic.model_validate(updated)


@router.patch(
    "/api/annotations/{annotation_id}/validate",
    response_model=AnnotationPublic,
    dependencies=_ANNOTATOR,
)
def validate_annotation(
    annotation_id: str,
    session: SessionDep,
    events: EventsDep,
    validated: Annotated[bool | None, Query()] = None,
    body: Annotated[AnnotationValidate | None, Body()] = None,
) -> AnnotationPublic:
    """Mark validated or not: ``?validated=true`` or the body ``{"validated": true}``."""
    if body is not None and validated is not None and body.validated != validated:
        raise _request_errors([(("validated",), "The query and the body disagree.", "value_error")])
    wanted = body.validated if body is not None else validated
    if wanted is None:
        raise _request_errors([(("validated",), "Give validated in the query or body.", "missing")])
    return AnnotationPublic.model_validate(
        annotation_service.set_validated(session, annotation_id, wanted, events)
    )


@router.delete(
    "/api/annotations/{annotation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=_ANNOTATOR,
)
def delete_annotation(annotation_id: str, session: SessionDep, events: EventsDep) -> None:
    annotation_service.delete_annotation(session, annotation_id, events)
