"""The ground-truth dataset as a whole: export of many videos, statistics, quality findings.

Dataset export is one zip archive, streamed: a folder per video, named by the video's id, holding
exactly the file the single-video export gives (``<name>.json``, ``.coco.json``, ``.yolo.zip`` or
``.voc.zip``; zips are stored, not compressed again), so every folder imports back into a video
with the single-video import. COCO files are not merged into one multi-video CocoVID document:
per-video files keep image ids, instance ids and the round trip the same as a single export.
The archive ends with ``report.json``: per video its folder, file and report counts (the full
report, entries included, is inside each video's file), and the totals.

Statistics and quality findings are SQL aggregates; box coordinates are read out of the
``bounding_box`` JSON column with SQLAlchemy's JSON accessors, which work on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
from sqlalchemy import ColumnElement, and_, case, distinct, func, literal, or_, select
from sqlalchemy.orm import QueryableAttribute, Session, sessionmaker

from central.db.models import GroundTruthAnnotation, Video, VideoProjectLink
from central.formats import VideoInfo
from central.formats.streaming import stream_zip
from central.services.annotation_io import (
    ExportProgress,
    StreamedExport,
    count_annotations,
    prepare_export,
    read_annotations,
    video_info,
)
from central.services.errors import NotFound
from central.services.videos import require_project
from protocol import VruType

__all__ = [
    "DATASET_REPORT",
    "NEAR_DUPLICATE_IOU",
    "DatasetSelection",
    "dataset_statistics",
    "quality_assessment",
    "start_dataset_export",
    "video_statistics",
]

logger = logging.getLogger(__name__)

DATASET_REPORT = "report.json"
NEAR_DUPLICATE_IOU = 0.9
"""Two boxes on one frame overlapping at least this much are probably one object drawn twice."""
EXAMPLES = 5
_EDGE_SLACK = 1e-6
_SMALL_AREA = 32**2
_LARGE_AREA = 96**2
"""COCO's box size classes: small below 32², large from 96² square pixels."""
_IMBALANCE_SHARE = 0.1
"""A VRU type with fewer boxes than this share of the most frequent type's is under-represented."""

_A = GroundTruthAnnotation
_V = Video


@dataclass(frozen=True, slots=True)
class DatasetSelection:
    """A project's videos (uploaded into it or linked), a list of videos, or every video."""

    project_id: str | None = None
    video_ids: Sequence[str] | None = None


# ----------------------------------------------------------------------------- dataset export


def _selected_videos(session: Session, selection: DatasetSelection) -> list[VideoInfo]:
    if selection.video_ids is not None:
        wanted = list(dict.fromkeys(selection.video_ids))
        found = {v.id: v for v in session.scalars(select(_V).where(_V.id.in_(wanted)))}
        missing = next((ident for ident in wanted if ident not in found), None)
        if missing is not None:
            raise NotFound("video", missing)
        return [video_info(found[ident]) for ident in wanted]
    query = select(_V).order_by(_V.created_at, _V.id)
    if selection.project_id is not None:
        require_project(session, selection.project_id)
        linked = select(VideoProjectLink.video_id).where(
            VideoProjectLink.project_id == selection.project_id
        )
        query = query.where(or_(_V.project_id == selection.project_id, _V.id.in_(linked)))
    return [video_info(video) for video in session.scalars(query)]


def start_dataset_export(
    factory: sessionmaker[Session], selection: DatasetSelection, format_name: str
) -> StreamedExport:
    """Check the selection (404) and that every video can be written in the format (409) before
    anything is streamed."""
    with factory() as session:
        videos = _selected_videos(session, selection)
        ids = [video.id for video in videos]
        narrowed = selection.project_id is not None or selection.video_ids is not None
        progress = ExportProgress(total=count_annotations(session, ids if narrowed else None))
    for video in videos:
        prepare_export(format_name, video, iter(()))
    export = StreamedExport(
        format=format_name,
        filename=f"dataset.{format_name}.zip",
        media_type="application/zip",
        chunks=iter(()),
        progress=progress,
        video_ids=ids,
        report_location=f"{DATASET_REPORT} in the archive, and each video's own file",
    )
    export.chunks = stream_zip(_dataset_entries(factory, videos, export))
    return export


def _dataset_entries(
    factory: sessionmaker[Session], videos: list[VideoInfo], export: StreamedExport
) -> Iterator[tuple[str, Iterable[bytes]]]:
    listed: list[dict[str, Any]] = []
    for video in videos:
        annotations = read_annotations(factory, video.id, export.progress)
        result = prepare_export(export.format, video, annotations)
        export.reports.append(result)
        path = f"{video.id}/{result.filename}"
        yield path, result.chunks
        report = result.report
        listed.append(
            {
                "videoId": video.id,
                "filename": video.filename,
                "path": path,
                "annotations": report.annotations,
                "frames": report.frames,
                "clipped": report.clipped,
                "dropped": report.dropped,
                "notRepresented": report.not_represented,
                "warnings": report.warnings,
            }
        )
    summary = {"format": export.format, "videos": listed, "totals": export.report_summary()}
    yield DATASET_REPORT, [orjson.dumps(summary, option=orjson.OPT_INDENT_2)]


# --------------------------------------------------------------------------------- statistics


def _box(name: str, table: Any = _A) -> ColumnElement[float]:
    return cast(ColumnElement[float], table.bounding_box[name].as_float())


def _least(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    """LEAST(a, b) in SQL both dialects speak."""
    return case((a <= b, a), else_=b)


def _greatest(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((a >= b, a), else_=b)


def _count_if(condition: ColumnElement[bool] | QueryableAttribute[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


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
    width, height = _box("width"), _box("height")
    area = width * height
    row = session.execute(
        select(
            _count_if(area < _SMALL_AREA),
            _count_if(and_(area >= _SMALL_AREA, area < _LARGE_AREA)),
            _count_if(area >= _LARGE_AREA),
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
        select(func.coalesce(func.sum(_V.frame_count), 0), _count_if(_V.frame_count.is_(None)))
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
                _count_if(_A.occluded),
                _count_if(_A.truncated),
                _count_if(_A.difficult),
                _count_if(_A.validated),
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
            _count_if(_V.project_id.is_(None)),
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
            _count_if(_A.validated).label("validated"),
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


# ---------------------------------------------------------------------------------- quality


def _finding(
    code: str, severity: str, count: int, examples: list[dict[str, Any]], recommendation: str
) -> dict[str, Any]:
    return {
        "code": code,
        "severity": severity,
        "count": count,
        "examples": examples[:EXAMPLES],
        "recommendation": recommendation,
    }


def _annotation_example(row: Any) -> dict[str, Any]:
    return {
        "annotation_id": row.id,
        "video_id": row.video_id,
        "frame_number": row.frame_number,
        "detection_id": row.detection_id,
    }


def _annotation_finding(
    session: Session,
    condition: ColumnElement[bool],
    code: str,
    severity: str,
    recommendation: str,
    *,
    join_video: bool = False,
) -> dict[str, Any]:
    base = select(_A).join(_V, _V.id == _A.video_id) if join_video else select(_A)
    base = base.where(condition)
    count = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(base.order_by(_A.id).limit(EXAMPLES)).all() if count else []
    return _finding(code, severity, count, [_annotation_example(r) for r in rows], recommendation)


def _outside_frame(session: Session) -> dict[str, Any]:
    x, y, width, height = (_box(name) for name in ("x", "y", "width", "height"))
    outside = or_(
        x < -_EDGE_SLACK,
        y < -_EDGE_SLACK,
        and_(_V.width.is_not(None), x + width > _V.width + _EDGE_SLACK),
        and_(_V.height.is_not(None), y + height > _V.height + _EDGE_SLACK),
    )
    return _annotation_finding(
        session,
        outside,
        "boxes_outside_frame",
        "error",
        "Clip these boxes to the frame or redraw them: matching and every export clip them, "
        "which changes their IoU.",
        join_video=True,
    )


def _zero_area(session: Session) -> dict[str, Any]:
    return _annotation_finding(
        session,
        or_(_box("width") <= 0, _box("height") <= 0),
        "zero_area_boxes",
        "error",
        "Delete or redraw these boxes: a box without area can never be matched.",
    )


def _near_duplicates(session: Session) -> dict[str, Any]:
    """Pairs of boxes on one frame overlapping by IoU >= :data:`NEAR_DUPLICATE_IOU`.

    Corners and areas are read out of the JSON once per box (a CTE) rather than once per pair,
    and the count comes with the first examples (a window count) in a single pass.
    """
    x, y, width, height = (_box(name) for name in ("x", "y", "width", "height"))
    boxes = select(
        _A.id,
        _A.video_id,
        _A.frame_number,
        x.label("left"),
        y.label("top"),
        (x + width).label("right"),
        (y + height).label("bottom"),
        (width * height).label("area"),
    ).cte("boxes")
    a, b = boxes.alias("a"), boxes.alias("b")
    overlap_w = _least(a.c.right, b.c.right) - _greatest(a.c.left, b.c.left)
    overlap_h = _least(a.c.bottom, b.c.bottom) - _greatest(a.c.top, b.c.top)
    overlap = overlap_w * overlap_h
    pairs = (
        select(
            a.c.id.label("first_id"),
            b.c.id.label("second_id"),
            a.c.video_id,
            a.c.frame_number,
            func.count().over().label("pairs"),
        )
        .join(
            b,
            and_(
                b.c.video_id == a.c.video_id,
                b.c.frame_number == a.c.frame_number,
                a.c.id < b.c.id,
            ),
        )
        .where(
            overlap_w > 0,
            overlap_h > 0,
            overlap >= NEAR_DUPLICATE_IOU * (a.c.area + b.c.area - overlap),
        )
        .order_by(a.c.id, b.c.id)
        .limit(EXAMPLES)
    )
    rows = session.execute(pairs).all()
    count = rows[0].pairs if rows else 0
    examples = [
        {
            "annotation_ids": [row.first_id, row.second_id],
            "video_id": row.video_id,
            "frame_number": row.frame_number,
        }
        for row in rows
    ]
    return _finding(
        "near_duplicate_boxes",
        "warning",
        count,
        examples,
        f"Pairs of boxes on one frame with IoU >= {NEAR_DUPLICATE_IOU}: keep one box per object; "
        "a duplicate turns a correct detection into a false negative.",
    )


def _track_gaps(session: Session) -> dict[str, Any]:
    first, last, boxes = func.min(_A.frame_number), func.max(_A.frame_number), func.count()
    tracks = (
        select(
            _A.video_id,
            _A.detection_id,
            first.label("first"),
            last.label("last"),
            boxes.label("boxes"),
        )
        .group_by(_A.video_id, _A.detection_id)
        .having(last - first + 1 > boxes)
    )
    count = session.scalar(select(func.count()).select_from(tracks.subquery())) or 0
    rows = (
        session.execute(tracks.order_by(_A.video_id, _A.detection_id).limit(EXAMPLES)).all()
        if count
        else []
    )
    examples = [
        {
            "video_id": row.video_id,
            "detection_id": row.detection_id,
            "first_frame": row.first,
            "last_frame": row.last,
            "missing_frames": row.last - row.first + 1 - row.boxes,
        }
        for row in rows
    ]
    return _finding(
        "tracks_with_gaps",
        "warning",
        count,
        examples,
        "Annotate the missing frames (or split the track where the object really left the "
        "view): temporal matching treats a track as present from its first to its last frame.",
    )


def _unvalidated(session: Session) -> dict[str, Any]:
    return _annotation_finding(
        session,
        _A.validated.is_(False),
        "unvalidated_annotations",
        "info",
        "Have a second annotator review and validate these boxes before relying on test results.",
    )


def _class_imbalance(session: Session) -> dict[str, Any]:
    counts = {vru.value: 0 for vru in VruType}
    for vru_type, count in session.execute(select(_A.vru_type, func.count()).group_by(_A.vru_type)):
        counts[vru_type] = count
    total, most = sum(counts.values()), max(counts.values())
    rare = sorted(
        (name for name, count in counts.items() if total and count < _IMBALANCE_SHARE * most),
        key=lambda name: counts[name],
    )
    examples = [
        {"vru_type": name, "annotations": counts[name], "share": counts[name] / total}
        for name in rare
    ]
    return _finding(
        "class_imbalance",
        "warning",
        len(rare),
        examples,
        f"VRU types with under {_IMBALANCE_SHARE:.0%} of the most frequent type's boxes: record "
        "or annotate more of them, or per-type results will rest on too few samples.",
    )


def _videos_without_ground_truth(session: Session) -> dict[str, Any]:
    has_truth = select(_A.id).where(_A.video_id == _V.id).exists()
    query = select(_V.id, _V.filename).where(~has_truth)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(_V.id).limit(EXAMPLES)).all() if count else []
    return _finding(
        "videos_without_ground_truth",
        "warning",
        count,
        [{"video_id": row.id, "filename": row.filename} for row in rows],
        "Annotate these videos or import their ground truth: a test on them cannot be scored.",
    )


_CHECKS = (
    _outside_frame,
    _zero_area,
    _near_duplicates,
    _track_gaps,
    _unvalidated,
    _class_imbalance,
    _videos_without_ground_truth,
)


def quality_assessment(session: Session) -> dict[str, Any]:
    """Every check's finding, in a fixed order (a count of 0 means it passed)."""
    findings = [check(session) for check in _CHECKS]
    return {
        "annotations": count_annotations(session),
        "videos": session.scalar(select(func.count()).select_from(_V)) or 0,
        "issues_found": sum(1 for finding in findings if finding["count"]),
        "findings": findings,
    }
