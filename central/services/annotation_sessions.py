"""Annotation sessions: who annotates which video, where they are, and how far the video is.

The totals (boxes of the video, and how many of them are validated) are counted from the
annotations table in the same query that reads the session, so they always agree with the
annotations: the stored counter columns of the table are never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from central.db.models import AnnotationSession, GroundTruthAnnotation
from central.schemas.annotation_sessions import AnnotationSessionCreate, AnnotationSessionUpdate
from central.services.errors import InvalidInput, NotFound
from central.services.videos import get_video

__all__ = [
    "create_session",
    "delete_session",
    "get_session_with_totals",
    "list_sessions",
    "update_session",
]

_S = AnnotationSession
_A = GroundTruthAnnotation


def _with_totals() -> Select[Any]:
    """Session columns plus the two totals, as correlated counts over the video's annotations."""
    of_video = _A.video_id == _S.video_id
    total = select(func.count()).where(of_video).correlate(_S).scalar_subquery()
    validated = (
        select(func.count()).where(of_video, _A.validated.is_(True)).correlate(_S).scalar_subquery()
    )
    return select(
        _S.id,
        _S.video_id,
        _S.annotator_id,
        _S.status,
        total.label("total_detections"),
        validated.label("validated_detections"),
        _S.current_frame,
        _S.created_at,
        _S.updated_at,
    )


def get_session_with_totals(session: Session, session_id: str) -> Row[Any]:
    row = session.execute(_with_totals().where(_S.id == session_id)).one_or_none()
    if row is None:
        raise NotFound("annotation session", session_id)
    return row


def list_sessions(
    session: Session, *, video_id: str | None = None, limit: int | None = None, offset: int = 0
) -> tuple[Sequence[Row[Any]], int]:
    """Sessions, newest first (of one video if given), and how many there are in all."""
    query = _with_totals()
    count = select(func.count()).select_from(_S)
    if video_id is not None:
        query = query.where(_S.video_id == video_id)
        count = count.where(_S.video_id == video_id)
    total = session.scalar(count) or 0
    page = query.order_by(_S.created_at.desc(), _S.id.desc()).offset(offset).limit(limit)
    return session.execute(page).all(), total


def _check_frame(frame: int, frame_count: int | None) -> None:
    if frame_count is not None and frame >= frame_count:
        raise InvalidInput(
            f"Frame {frame} is past the video's last frame ({frame_count - 1}).",
            field="currentFrame",
        )


def create_session(session: Session, data: AnnotationSessionCreate) -> Row[Any]:
    video = get_video(session, data.video_id)
    _check_frame(data.current_frame, video.frame_count)
    row = AnnotationSession(
        video_id=video.id,
        annotator_id=data.annotator_id,
        status=data.status.value,
        current_frame=data.current_frame,
    )
    session.add(row)
    session.commit()
    return get_session_with_totals(session, row.id)


def update_session(session: Session, session_id: str, changes: AnnotationSessionUpdate) -> Row[Any]:
    """Change the fields sent; totals sent back by a client are ignored (they are derived)."""
    row = session.get(AnnotationSession, session_id)
    if row is None:
        raise NotFound("annotation session", session_id)
    sent = changes.model_fields_set
    if "status" in sent:
        if changes.status is None:
            raise InvalidInput("Must not be null.", field="status")
        row.status = changes.status.value
    if "current_frame" in sent:
        if changes.current_frame is None:
            raise InvalidInput("Must not be null.", field="currentFrame")
        _check_frame(changes.current_frame, row.video.frame_count)
        row.current_frame = changes.current_frame
    if "annotator_id" in sent:
        row.annotator_id = changes.annotator_id
    session.commit()
    return get_session_with_totals(session, session_id)


def delete_session(session: Session, session_id: str) -> None:
    row = session.get(AnnotationSession, session_id)
    if row is None:
        raise NotFound("annotation session", session_id)
    session.delete(row)
    session.commit()
