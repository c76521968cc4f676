"""Statistics of the ground-truth dataset: boxes per frame, box sizes, frames, per video.

SQL aggregates; box coordinates are read out of the ``bounding_box`` JSON column (see
:mod:`._columns`), which works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, distinct, func, literal, select
from sqlalchemy.orm import Session

from central.db.models import GroundTruthAnnotation, Video
from central.services.datasets._columns import box, count_if
from protocol import VruType

__all__ = ["dataset_statistics", "video_statistics"]

_SMALL_AREA = 32**2
_LARGE_AREA = 96**2
"""COCO's box size classes: small below 32², large from 96² square pixels."""

_A = GroundTruthAnnotation
_V = Video


def _boxes_per_frame(session: Session) -> dict[str, Any]:
    per_frame = (
        select(func.count().label("boxes"))
        .select_from(_A)
        .group_by(_A.video_id, _A.frame_number)
        .subquery()
    )
    rows = session.execute(
        select(per_frame.c.boxes, func.count()).group_by(per_frame.c.boxes)
    ).all()
    histogram: dict[str, int] = {}
    for boxes, frames in sorted(rows):
        bucket = str(boxes) if boxes < 10 else "10+"
        histogram[bucket] = histogram.get(bucket, 0) + frames
    frames = sum(count for _, count in rows)
    boxes = sum(boxes * count for boxes, count in rows)
    return {
        "mean": boxes / frames if frames else None,
        "max": max((boxes for boxes, _ in rows), default=None),
        "histogram": histogram,
    }


def _box_sizes(session: Session) -> dict[str, Any]:
    width, height = box("width"), box("height")
    area = width * height
    row = session.execute(
        select(
            count_if(area < _SMALL_AREA),
            count_if(and_(area >= _SMALL_AREA, area < _LARGE_AREA)),
            count_if(area >= _LARGE_AREA),
            func.avg(width),
            func.avg(height),
            func.min(width),
            func.max(width),
            func.min(height),
            func.max(height),
        )
    ).one()
    names = (
        "small",
        "medium",
        "large",
        "meanWidth",
        "meanHeight",
        "minWidth",
        "maxWidth",
        "minHeight",
        "maxHeight",
    )
    return dict(zip(names, row, strict=True))


def _frame_counts(session: Session) -> tuple[int, int, int, int]:
    """(frames of videos with a known length, videos of unknown length, annotated frames,
    annotated frames inside the known lengths)."""
    frames, unknown = session.execute(
        select(func.coalesce(func.sum(_V.frame_count), 0), count_if(_V.frame_count.is_(None)))
    ).one()
    distinct_frames = select(_A.video_id, _A.frame_number).distinct().subquery()
    annotated = session.scalar(select(func.count()).select_from(distinct_frames)) or 0
    inside = (
        session.scalar(
            select(func.count())
            .select_from(distinct_frames)
            .join(_V, _V.id == distinct_frames.c.video_id)
            .where(_V.frame_count.is_not(None), distinct_frames.c.frame_number < _V.frame_count)
        )
        or 0
    )
    return int(frames or 0), int(unknown or 0), annotated, inside


def dataset_statistics(session: Session) -> dict[str, Any]:
    """Counts over every video and annotation (the fields of ``DatasetStatistics``)."""
    videos = session.scalar(select(func.count()).select_from(_V)) or 0
    annotations, tracks, videos_annotated, occluded, truncated, difficult, validated = (
        session.execute(
            select(
                func.count(),
                func.count(distinct(_A.video_id + literal("/") + _A.detection_id)),
                func.count(distinct(_A.video_id)),
                count_if(_A.occluded),
                count_if(_A.truncated),
                count_if(_A.difficult),
                count_if(_A.validated),
            )
        ).one()
    )
    by_type = {vru.value: 0 for vru in VruType}
    for vru_type, count in session.execute(select(_A.vru_type, func.count()).group_by(_A.vru_type)):
        by_type[vru_type] = count
    frames, unknown_length, annotated_frames, annotated_inside = _frame_counts(session)
    return {
        "videos": videos,
        "videos_with_annotations": videos_annotated,
        "frames": frames,
        "videos_with_unknown_frame_count": unknown_length,
        "annotated_frames": annotated_frames,
        "frames_without_annotations": frames - annotated_inside,
        "annotations": annotations,
        "tracks": tracks,
        "by_vru_type": by_type,
        "by_flag": {
            "occluded": occluded,
            "truncated": truncated,
            "difficult": difficult,
            "validated": validated,
        },
        "validated_share": validated / annotations if annotations else None,
        "boxes_per_frame": _boxes_per_frame(session),
        "box_size": _box_sizes(session),
    }


def video_statistics(session: Session, *, limit: int, offset: int) -> dict[str, Any]:
    """Totals over every video, and a page of per-video ground-truth counts."""
    total, size, duration, frames, library = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(_V.size_bytes), 0),
            func.coalesce(func.sum(_V.duration_s), 0.0),
            func.coalesce(func.sum(_V.frame_count), 0),
            count_if(_V.project_id.is_(None)),
        )
    ).one()
    by_status = dict(session.execute(select(_V.status, func.count()).group_by(_V.status)).all())
    by_resolution: dict[str, int] = {}
    for width, height, count in session.execute(
        select(_V.width, _V.height, func.count()).group_by(_V.width, _V.height)
    ):
        key = f"{width}x{height}" if width and height else "unknown"
        by_resolution[key] = by_resolution.get(key, 0) + count
    per_video = (
        select(
            _A.video_id.label("video_id"),
            func.count().label("annotations"),
            func.count(distinct(_A.frame_number)).label("annotated_frames"),
            func.count(distinct(_A.detection_id)).label("tracks"),
            count_if(_A.validated).label("validated"),
        )
        .group_by(_A.video_id)
        .subquery()
    )
    with_truth = session.scalar(select(func.count()).select_from(per_video)) or 0
    page = session.execute(
        select(_V, per_video)
        .outerjoin(per_video, per_video.c.video_id == _V.id)
        .order_by(_V.created_at, _V.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return {
        "total_videos": total,
        "library_videos": library,
        "project_videos": total - library,
        "by_status": by_status,
        "by_resolution": by_resolution,
        "total_size_bytes": int(size or 0),
        "total_duration_s": float(duration or 0.0),
        "total_frames": int(frames or 0),
        "with_ground_truth": with_truth,
        "without_ground_truth": total - with_truth,
        "videos": [_video_row(row) for row in page],
    }


def _video_row(row: Any) -> dict[str, Any]:
    video: Video = row[0]
    annotations = row.annotations or 0
    annotated_frames = row.annotated_frames or 0
    return {
        "video_id": video.id,
        "filename": video.filename,
        "project_id": video.project_id,
        "status": video.status,
        "frame_count": video.frame_count,
        "annotations": annotations,
        "annotated_frames": annotated_frames,
        "tracks": row.tracks or 0,
        "validated": row.validated or 0,
        "validated_share": (row.validated or 0) / annotations if annotations else None,
        "frame_coverage": (annotated_frames / video.frame_count if video.frame_count else None),
    }
