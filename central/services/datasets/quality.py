"""Quality findings on the ground-truth dataset: each check a count, examples, a recommendation.

SQL over the whole dataset, as the statistics are (see :mod:`._columns`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from central.db.models import GroundTruthAnnotation, Video
from central.formats.rules import EDGE_SLACK
from central.services.annotation_io import (
    count_annotations,
)
from central.services.datasets._columns import box, greatest, least
from protocol import VruType

__all__ = ["EXAMPLES", "NEAR_DUPLICATE_IOU", "quality_assessment"]

NEAR_DUPLICATE_IOU = 0.9
"""Two boxes on one frame overlapping at least this much are probably one object drawn twice."""
EXAMPLES = 5
_IMBALANCE_SHARE = 0.1
"""A VRU type with fewer boxes than this share of the most frequent type's is under-represented."""

_A = GroundTruthAnnotation
_V = Video


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
    x, y, width, height = (box(name) for name in ("x", "y", "width", "height"))
    outside = or_(
        x < -EDGE_SLACK,
        y < -EDGE_SLACK,
        and_(_V.width.is_not(None), x + width > _V.width + EDGE_SLACK),
        and_(_V.height.is_not(None), y + height > _V.height + EDGE_SLACK),
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
        or_(box("width") <= 0, box("height") <= 0),
        "zero_area_boxes",
        "error",
        "Delete or redraw these boxes: a box without area can never be matched.",
    )


def _near_duplicates(session: Session) -> dict[str, Any]:
    """Pairs of boxes on one frame overlapping by IoU >= :data:`NEAR_DUPLICATE_IOU`.

    Corners and areas are read out of the JSON once per box (a CTE) rather than once per pair,
    and the count comes with the first examples (a window count) in a single pass.
    """
    x, y, width, height = (box(name) for name in ("x", "y", "width", "height"))
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
    overlap_w = least(a.c.right, b.c.right) - greatest(a.c.left, b.c.left)
    overlap_h = least(a.c.bottom, b.c.bottom) - greatest(a.c.top, b.c.top)
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
