"""Load a test session's matching inputs from the database: ground truth, records and rules.

Rows are read column-wise and turned into the numpy arrays of :mod:`central.services.matching`
in one go; the only per-row Python work is unpacking JSON boxes. The same conversion serves the
live matcher (:mod:`central.services.live_matching`), which gets freshly ingested rows as dicts.

Video time of a record (DESIGN.md, "Matching and metrics"): a record of the session's own rig is
placed at ``(t_mono_ns - sync_mono_ns) / 1e6`` once the sync instant is known; before that, and
for detections posted over HTTP, the record's own ``t_video_ms`` counts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models import (
    DetectionEvent,
    GroundTruthAnnotation,
    TestExecutionConfig,
    TestSession,
    Video,
)
from central.services.errors import NotFound
from central.services.matching import GroundTruth, MatchConfig, MatchMode, Signals

__all__ = [
    "MATCHED_KIND",
    "SessionInputs",
    "is_judged",
    "load_ground_truth",
    "load_inputs",
    "load_judged_rows",
    "load_session",
    "match_config",
    "signals_from_rows",
    "sync_instant",
]

logger = logging.getLogger(__name__)

MATCHED_KIND = "detection"
"""The record kind judged against the ground truth. A ``latency`` record repeats a detection
record of the same capture, paired with its stimulus (its latency is stored by ingest), and
``sync`` records only set video time zero."""

_NAN_BOX = (np.nan, np.nan, np.nan, np.nan)


def is_judged(row: Mapping[str, Any]) -> bool:
    """Whether a stored record is a detection to match: not a sync or latency record, and not a
    stimulus marker (stored as a detection whose payload says ``fields.role = "stimulus"``)."""
    if row["kind"] != MATCHED_KIND:
        return False
    fields = (row.get("payload") or {}).get("fields") or {}
    return fields.get("role") != "stimulus"


def load_session(db: Session, session_id: str) -> TestSession:
    row = db.get(TestSession, session_id)
    if row is None:
        raise NotFound("test session", session_id)
    return row


def _box(value: Any) -> tuple[float, float, float, float]:
    if value is None:
        return _NAN_BOX
    if isinstance(value, Mapping):
        return (
            float(value["x"]),
            float(value["y"]),
            float(value["width"]),
            float(value["height"]),
        )
    x, y, w, h = value
    return (float(x), float(y), float(w), float(h))


def load_ground_truth(db: Session, video_id: str) -> GroundTruth:
    """Every annotation of the video; ``t_ms`` is the annotation's timestamp in milliseconds."""
    a = GroundTruthAnnotation
    rows = db.execute(
        select(
            a.id,
            a.detection_id,
            a.frame_number,
            a.timestamp,
            a.vru_type,
            a.bounding_box,
            a.occluded,
            a.truncated,
            a.difficult,
        ).where(a.video_id == video_id)
    ).all()
    if not rows:
        return GroundTruth.from_arrays([], [], [], [], [])
    ids, tracks, frames, stamps, types, boxes, occluded, truncated, difficult = zip(
        *rows, strict=True
    )
    return GroundTruth.from_arrays(
        annotation_id=np.asarray(ids),
        detection_id=np.asarray(tracks),
        frame=np.asarray(frames, dtype=np.int64),
        t_ms=np.asarray(stamps, dtype=np.float64) * 1000.0,
        vru_type=list(types),
        bbox=np.asarray([_box(b) for b in boxes], dtype=np.float64),
        occluded=np.asarray(occluded, dtype=np.bool_),
        truncated=np.asarray(truncated, dtype=np.bool_),
        difficult=np.asarray(difficult, dtype=np.bool_),
    )


def match_config(config: TestExecutionConfig, fps: float | None) -> MatchConfig:
    """The matcher's rules from a session's execution config and its video's frame rate.

    :raises ValueError: a value the matcher cannot use (named in the message).
    """
    return MatchConfig(
        mode=MatchMode(config.mode),
        tolerance_ms=float(config.tolerance_ms),
        max_latency_ms=float(config.max_latency_ms),
        min_accuracy=float(config.min_accuracy),
        iou_threshold=float(config.iou_threshold),
        fps=fps,
    )


def _column(rows: Sequence[Mapping[str, Any]], key: str) -> list[Any]:
    return [row[key] for row in rows]


def signals_from_rows(
    rows: Sequence[Mapping[str, Any]], rig_id: str, sync_mono_ns: int | None
) -> Signals:
    """Matching input from ``detection_events`` rows (dicts with that table's column names)."""
    if not rows:
        return Signals.from_arrays(np.asarray([], dtype="<U36"))
    stored = np.asarray(
        [np.nan if v is None else v for v in _column(rows, "t_video_ms")], dtype=np.float64
    )
    if sync_mono_ns is not None:
        own = np.asarray(_column(rows, "rig_id")) == rig_id
        mono = np.asarray(_column(rows, "t_mono_ns"), dtype=np.int64)
        from_sync = (mono - np.int64(sync_mono_ns)) / 1e6
        t_video = np.where(own, from_sync, stored)
    else:
        t_video = stored
    confidence = [np.nan if v is None else v for v in _column(rows, "confidence")]
    frames = [-1 if v is None else v for v in _column(rows, "frame_number")]
    return Signals.from_arrays(
        record_id=np.asarray(_column(rows, "id")),
        t_video_ms=t_video,
        vru_type=_column(rows, "vru_type"),
        bbox=np.asarray([_box(b) for b in _column(rows, "bbox")], dtype=np.float64),
        confidence=np.asarray(confidence, dtype=np.float64),
        frame=np.asarray(frames, dtype=np.int64),
    )


def sync_instant(db: Session, session: TestSession) -> int | None:
    """Video time zero on the rig clock: the session's, else its rig's first sync record."""
    if session.sync_mono_ns is not None:
        return session.sync_mono_ns
    e = DetectionEvent
    return db.scalar(
        select(e.t_mono_ns)
        .where(e.test_session_id == session.id, e.kind == "sync", e.rig_id == session.rig_id)
        .order_by(e.seq)
        .limit(1)
    )


_EVENT_COLUMNS = (
    "id",
    "rig_id",
    "kind",
    "t_mono_ns",
    "t_video_ms",
    "vru_type",
    "bbox",
    "confidence",
    "frame_number",
    "payload",
)


@dataclass(frozen=True, slots=True)
class SessionInputs:
    """Everything the final pass needs, read in one database session."""

    session: TestSession
    ground_truth: GroundTruth
    signals: Signals
    claimed_types: NDArray[np.object_]
    """The VRU type each record claimed (None when it carried none), in signal order."""
    config: MatchConfig
    sync_mono_ns: int | None


def load_judged_rows(db: Session, session_id: str) -> list[dict[str, Any]]:
    """The session's stored records that are judged, in id (arrival) order, as dicts."""
    columns = [getattr(DetectionEvent, name) for name in _EVENT_COLUMNS]
    result = db.execute(
        select(*columns)
        .where(
            DetectionEvent.test_session_id == session_id,
            DetectionEvent.kind == MATCHED_KIND,
        )
        .order_by(DetectionEvent.id)
    )
    return [
        row for values in result if is_judged(row := dict(zip(_EVENT_COLUMNS, values, strict=True)))
    ]


def load_inputs(db: Session, session_id: str) -> SessionInputs:
    """Read a session's ground truth, records and rules.

    :raises NotFound: no such session.
    :raises ValueError: the session has no execution config, or a stored value is unusable.
    """
    session = load_session(db, session_id)
    config = session.execution_config
    if config is None:
        raise ValueError(f"test session {session_id!r} was never started: it has no config")
    fps = db.scalar(select(Video.fps).where(Video.id == session.video_id))
    sync = sync_instant(db, session)
    rows = load_judged_rows(db, session_id)
    return SessionInputs(
        session=session,
        ground_truth=load_ground_truth(db, session.video_id),
        signals=signals_from_rows(rows, session.rig_id, sync),
        claimed_types=np.asarray(_column(rows, "vru_type"), dtype=object),
        config=match_config(config, fps),
        sync_mono_ns=sync,
    )
