"""Ground-truth annotations of a video: create (one or in bulk), list with filters, update, delete.

Every write is checked against the video first (:mod:`central.formats.rules`) and all
of a request's rows are checked before any is written, so a bad row leaves nothing behind. Bulk
writes are one executemany INSERT in one transaction. Lists are ordered by
``(frame_number, detection_id)``, which the unique index ``(video_id, frame_number,
detection_id)`` serves, so a page costs an index range scan.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast

from pydantic.alias_generators import to_camel
from sqlalchemy import Select, Table, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.db.bulk_insert import insert_many
from central.db.models import GroundTruthAnnotation, Video
from central.db.types import new_id, new_ids, utcnow
from central.events import DISCARD, EventSink
from central.formats.rules import (
    FieldProblem,
    VideoGeometry,
    check_box,
    place_in_video,
)
from central.schemas.annotations import (
    AnnotationCreate,
    AnnotationListQuery,
    AnnotationPublic,
    AnnotationUpdate,
)
from central.services.errors import Conflict, InvalidInput, NotFound
from central.services.videos import get_video

__all__ = [
    "MAX_REPORTED_PROBLEMS",
    "InvalidAnnotations",
    "bulk_create_annotations",
    "create_annotation",
    "delete_annotation",
    "get_annotation",
    "list_annotations",
    "list_by_detection",
    "set_validated",
    "update_annotation",
]

logger = logging.getLogger(__name__)

_ANNOTATION = cast(Table, GroundTruthAnnotation.__table__)
MAX_REPORTED_PROBLEMS = 1000
"""A bulk request of 100,000 bad rows gets the first problems and a count, not a 10 MB 422."""


class InvalidAnnotations(InvalidInput):
    """Every problem of a request's annotations, each with its field path (``field`` = first)."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        where, message = problems[0]
        super().__init__(message, field=".".join(str(part) for part in where))
        self.problems = problems


def _geometry(video: Video) -> VideoGeometry:
    return VideoGeometry(video.fps, video.frame_count, video.width, video.height)


def _checked_row(
    item: AnnotationCreate, geometry: VideoGeometry, where: tuple[str | int, ...]
) -> tuple[dict[str, Any] | None, list[FieldProblem]]:
    """The column values of one new annotation, or its problems (paths prefixed by ``where``)."""
    placement, problems = place_in_video(item.get("frame_number"), item.get("timestamp"), geometry)
    box = item["bounding_box"]
    problems += check_box(box["x"], box["y"], box["width"], box["height"], geometry)
    if problems or placement is None:
        return None, [((*where, *path), message) for path, message in problems]
    row = {
        "detection_id": item["detection_id"],
        "frame_number": placement.frame_number,
        "timestamp": placement.timestamp,
        "vru_type": item["vru_type"].value,
        "bounding_box": box,
        "occluded": item.get("occluded", False),
        "truncated": item.get("truncated", False),
        "difficult": item.get("difficult", False),
        "notes": item.get("notes"),
        "annotator": item.get("annotator"),
        "validated": item.get("validated", False),
    }
    return row, []


def _duplicate_message(detection_id: str, frame_number: int) -> str:
    return f"detection {detection_id!r} already has a box on frame {frame_number}"


def _announce(events: EventSink, action: str, annotation: GroundTruthAnnotation) -> None:
    """``annotation_update`` with the annotation as the REST API shows it."""
    public = AnnotationPublic.model_validate(annotation).model_dump(mode="json", by_alias=True)
    events.annotation_changed(annotation.video_id, action, public)


def create_annotation(
    session: Session, video_id: str, item: AnnotationCreate, events: EventSink = DISCARD
) -> GroundTruthAnnotation:
    video = get_video(session, video_id)
    row, problems = _checked_row(item, _geometry(video), ())
    if row is None:
        raise InvalidAnnotations(problems)
    annotation = GroundTruthAnnotation(id=new_id(), video_id=video_id, **row)
    session.add(annotation)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(_duplicate_message(row["detection_id"], row["frame_number"])) from exc
    _announce(events, "created", annotation)
    return annotation


def bulk_create_annotations(
    session: Session,
    video_id: str,
    items: Sequence[AnnotationCreate],
    events: EventSink = DISCARD,
) -> int:
    """Insert all of ``items`` in one transaction, or none of them; returns how many."""
    video = get_video(session, video_id)
    geometry = _geometry(video)
    rows: list[dict[str, Any]] = []
    problems: list[FieldProblem] = []
    first_of: dict[tuple[int, str], int] = {}
    created_at = utcnow()
    unreported = 0
    for index, item in enumerate(items):
        row, row_problems = _checked_row(item, geometry, ("annotations", index))
        if row is None:
            if len(problems) < MAX_REPORTED_PROBLEMS:
                problems += row_problems
            else:
                unreported += len(row_problems)
            continue
        key = (row["frame_number"], row["detection_id"])
        if key in first_of:
            raise Conflict(
                f"annotations {first_of[key]} and {index} are both detection "
                f"{key[1]!r} on frame {key[0]}"
            )
        first_of[key] = index
        row["video_id"] = video_id
        row["created_at"] = created_at
        row["updated_at"] = None
        rows.append(row)
    if unreported:
        problems.append((("annotations",), f"... and {unreported} more problems like these."))
    if problems:
        raise InvalidAnnotations(problems)
    for row, annotation_id in zip(rows, new_ids(len(rows)), strict=True):
        row["id"] = annotation_id
    try:
        insert_many(session, _ANNOTATION, rows)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            "some of these annotations repeat a detection id on a frame that already has it"
        ) from exc
    logger.info("Inserted %d annotations into video %s", len(rows), video_id)
    events.annotations_bulk_created(video_id, len(rows))
    return len(rows)


def _filtered(query: Select[Any], video_id: str, where: AnnotationListQuery) -> Select[Any]:
    column = _ANNOTATION.c
    query = query.where(column.video_id == video_id)
    if where.frame_start is not None:
        query = query.where(column.frame_number >= where.frame_start)
    if where.frame_end is not None:
        query = query.where(column.frame_number <= where.frame_end)
    if where.time_start is not None:
        query = query.where(column.timestamp >= where.time_start)
    if where.time_end is not None:
        query = query.where(column.timestamp <= where.time_end)
    if where.vru_type is not None:
        query = query.where(column.vru_type == where.vru_type.value)
    if where.validated is not None:
        query = query.where(column.validated == where.validated)
    return query


def list_annotations(
    session: Session, video_id: str, where: AnnotationListQuery
) -> tuple[Sequence[Any], int]:
    """A page of a video's annotations as plain rows (fast to serialise), and the total count."""
    get_video(session, video_id)
    total = session.scalar(_filtered(select(func.count()), video_id, where)) or 0
    column = _ANNOTATION.c
    page = (
        _filtered(select(_ANNOTATION), video_id, where)
        .order_by(column.frame_number, column.detection_id)
        .offset(where.offset)
        .limit(where.limit)
    )
    return session.execute(page).all(), total


def list_by_detection(
    session: Session, detection_id: str, *, video_id: str | None = None
) -> Sequence[GroundTruthAnnotation]:
    """The boxes of one track (``detection_id``) over time, across videos unless one is given."""
    query = select(GroundTruthAnnotation).where(GroundTruthAnnotation.detection_id == detection_id)
    if video_id is not None:
        query = query.where(GroundTruthAnnotation.video_id == video_id)
    query = query.order_by(GroundTruthAnnotation.video_id, GroundTruthAnnotation.frame_number)
    return session.scalars(query).all()


def get_annotation(session: Session, annotation_id: str) -> GroundTruthAnnotation:
    annotation = session.get(GroundTruthAnnotation, annotation_id)
    if annotation is None:
        raise NotFound("annotation", annotation_id)
    return annotation


def update_annotation(
    session: Session, annotation_id: str, changes: AnnotationUpdate, events: EventSink = DISCARD
) -> GroundTruthAnnotation:
    """Change the fields sent. A new frame alone re-derives the timestamp, and the reverse."""
    annotation = get_annotation(session, annotation_id)
    geometry = _geometry(annotation.video)
    sent = changes.model_fields_set
    problems: list[FieldProblem] = []
    if "frame_number" in sent or "timestamp" in sent:
        placement, problems = place_in_video(changes.frame_number, changes.timestamp, geometry)
        if placement is not None:
            annotation.frame_number = placement.frame_number
            annotation.timestamp = placement.timestamp
    if changes.bounding_box is not None:
        box = changes.bounding_box
        problems += check_box(box["x"], box["y"], box["width"], box["height"], geometry)
        annotation.bounding_box = dict(box)
    for name in ("detection_id", "vru_type", "occluded", "truncated", "difficult", "validated"):
        if name in sent:
            value = getattr(changes, name)
            if value is None:
                problems.append(((to_camel(name),), "Must not be null."))
            else:
                setattr(annotation, name, value)
    for name in ("notes", "annotator"):
        if name in sent:
            setattr(annotation, name, getattr(changes, name))
    if problems:
        session.rollback()
        raise InvalidAnnotations(problems)
    duplicate = _duplicate_message(annotation.detection_id, annotation.frame_number)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(duplicate) from exc
    _announce(events, "updated", annotation)
    return annotation


def set_validated(
    session: Session, annotation_id: str, validated: bool, events: EventSink = DISCARD
) -> GroundTruthAnnotation:
    annotation = get_annotation(session, annotation_id)
    annotation.validated = validated
    session.commit()
    _announce(events, "updated", annotation)
    return annotation


def delete_annotation(session: Session, annotation_id: str, events: EventSink = DISCARD) -> None:
    annotation = get_annotation(session, annotation_id)
    public = AnnotationPublic.model_validate(annotation).model_dump(mode="json", by_alias=True)
    session.delete(annotation)
    session.commit()
    events.annotation_changed(annotation.video_id, "deleted", public)
