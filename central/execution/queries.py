"""Read a session's results: the verdict, its comparison rows and its latency figures.

A finished session serves what the final pass stored. A running one serves the live matcher's
provisional figures (marked ``provisional``), so a dashboard can poll the same endpoints
throughout a run.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.db.models import (
    DetectionComparison,
    DetectionEvent,
    LatencyMeasurement,
    TrackResult,
)
from central.execution.loading import load_session
from central.matching.metrics import latency_stats

__all__ = ["MATCH_TYPES", "detailed_results", "latency_metrics", "list_comparisons", "list_tracks"]

logger = logging.getLogger(__name__)

MATCH_TYPES = ("TP", "FP", "FN", "repeat", "ignored")


def _session_head(session: Any) -> dict[str, Any]:
    return {
        "test_session_id": session.id,
        "status": session.status,
        "failure_reason": session.failure_reason,
        "started_at": session.started_at,
        "completed_at": session.completed_at,
    }


def detailed_results(
    db: Session, session_id: str, provisional: dict[str, Any] | None
) -> dict[str, Any]:
    """The stored final results, else the live provisional score, else nothing yet."""
    session = load_session(db, session_id)
    final = session.results is not None
    return {
        **_session_head(session),
        "final": final,
        "results": session.results if final else provisional,
    }


def list_comparisons(
    db: Session, session_id: str, *, match_type: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the session's comparison rows (TP/FP/repeat/ignored by record time, then FN)
    and the total count of the filtered list."""
    load_session(db, session_id)
    c, e = DetectionComparison, DetectionEvent
    conditions = [c.test_session_id == session_id]
    if match_type is not None:
        conditions.append(c.match_type == match_type)
    total = db.scalar(select(func.count()).select_from(c).where(*conditions)) or 0
    query = (
        select(c, e.t_video_ms, e.channel, e.rig_id, e.frame_number)
        .outerjoin(e, e.id == c.detection_event_id)
        .where(*conditions)
        .order_by(c.detection_event_id.is_(None), e.t_video_ms, c.id)
        .limit(limit)
        .offset(offset)
    )
    rows = [
        {
            "id": row.id,
            "test_session_id": row.test_session_id,
            "ground_truth_id": row.ground_truth_id,
            "detection_event_id": row.detection_event_id,
            "match_type": row.match_type,
            "vru_type": row.vru_type,
            "confidence_score": row.confidence_score,
            "temporal_difference_ms": row.temporal_difference_ms,
            "spatial_iou": row.spatial_iou,
            "t_video_ms": t_video_ms,
            "channel": channel,
            "rig_id": rig_id,
            "frame_number": frame_number,
            "created_at": row.created_at,
        }
        for row, t_video_ms, channel, rig_id, frame_number in db.execute(query)
    ]
    return rows, total


def list_tracks(
    db: Session,
    session_id: str,
    *,
    vru_type: str | None,
    missed: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[TrackResult], int]:
    """A page of the session's ground-truth tracks (by first frame, then track id) and the total
    count of the filtered list. Empty until the session has final results."""
    load_session(db, session_id)
    t = TrackResult
    conditions = [t.test_session_id == session_id]
    if vru_type is not None:
        conditions.append(t.vru_type == vru_type)
    if missed is not None:
        conditions.append(t.never_detected.is_(missed))
    total = db.scalar(select(func.count()).select_from(t).where(*conditions)) or 0
    query = (
        select(t)
        .where(*conditions)
        .order_by(t.first_frame, t.detection_id)
        .limit(limit)
        .offset(offset)
    )
    return list(db.scalars(query)), total


def _stats(values: list[float]) -> dict[str, Any]:
    return latency_stats(np.asarray(values, dtype=np.float64)).to_dict()


def latency_metrics(
    db: Session, session_id: str, live_latencies_ms: list[float] | None
) -> dict[str, Any]:
    """Latency statistics from ground truth to signal (final, or provisional while running) with
    how many are within the budget and, where the rig paired stimuli with detections, the
    statistics of the rig-measured (stimulus to detection) latencies."""
    session = load_session(db, session_id)
    config = session.execution_config
    budget = float(config.max_latency_ms) if config is not None else None
    m, e = LatencyMeasurement, DetectionEvent
    rig_measured = list(
        db.scalars(
            select(m.latency_ms)
            .join(e, e.id == m.detection_event_id)
            .where(m.test_session_id == session_id, e.kind == "latency")
        )
    )
    if session.results is not None:
        provisional = False
        c = DetectionComparison
        ground_truth: list[float] = [
            value
            for value in db.scalars(
                select(c.temporal_difference_ms).where(
                    c.test_session_id == session_id, c.match_type == "TP"
                )
            )
            if value is not None
        ]
        stats = dict(session.results.get("latency") or _stats(ground_truth))
    else:
        provisional = live_latencies_ms is not None
        ground_truth = live_latencies_ms or []
        stats = _stats(ground_truth)
    within = (
        int(np.count_nonzero(np.asarray(ground_truth) <= budget)) if budget is not None else None
    )
    return {
        **_session_head(session),
        "provisional": provisional,
        "max_latency_ms": budget,
        "within_tolerance": within,
        **stats,
        "rig_measured": _stats(rig_measured) if rig_measured else None,
    }
