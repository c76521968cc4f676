"""Load a test session's matching inputs from the database: ground truth, records and rules.

Rows are read column-wise and turned into the numpy arrays of :mod:`central.matching`
in one go; the only per-row Python work is unpacking JSON boxes. The same conversion serves the
live matcher (:mod:`central.execution.live`), which gets freshly ingested rows as dicts.

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
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from central.db.models import (
    DetectionEvent,
    GroundTruthAnnotation,
    TestExecutionConfig,
    TestSession,
    Video,
)
from central.matching import GroundTruth, MatchConfig, MatchMode, Signals
from central.schemas.test_sessions import ExecutionConfigBase
from central.services.errors import NotFound

__all__ = [
    "MATCHED_KIND",
    "SessionInputs",
    "is_judged",
    "judged_ids",
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


def load_session(db: Session, session_id: str, *, lock: bool = False) -> TestSession:
    """The session row; ``lock``: ``SELECT ... FOR NO KEY UPDATE`` on PostgreSQL (SQLite has one
    writer at a time anyway), so that writers of the session's results take turns. Not ``FOR
    UPDATE``: that would also hold up every insert of the session's records (their foreign key
    check takes ``FOR KEY SHARE`` on this row), and with them the ingest writer."""
    row = db.get(TestSession, session_id, with_for_update={"key_share": True} if lock else None)
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


def load_ground_truth(db: Session, video_id: str, *, with_boxes: bool = True) -> GroundTruth:
    """Every annotation of the video; ``t_ms`` is the annotation's timestamp in milliseconds.
    Boxes (JSON, the costly part to read) only with ``with_boxes``: temporal mode needs none."""
    a = GroundTruthAnnotation
    columns = [a.id, a.detection_id, a.frame_number, a.timestamp, a.vru_type]
    columns += [a.occluded, a.truncated, a.difficult]
    if with_boxes:
        columns.append(a.bounding_box)
    rows = db.execute(select(*columns).where(a.video_id == video_id)).all()
    if not rows:
        return GroundTruth.from_arrays([], [], [], [], [])
    ids, tracks, frames, stamps, types, occluded, truncated, difficult, *boxes = zip(
        *rows, strict=True
    )
    return GroundTruth.from_arrays(
        annotation_id=np.asarray(ids),
        detection_id=np.asarray(tracks),
        frame=np.asarray(frames, dtype=np.int64),
        t_ms=np.asarray(stamps, dtype=np.float64) * 1000.0,
        vru_type=list(types),
        bbox=np.asarray([_box(b) for b in boxes[0]], dtype=np.float64) if boxes else None,
        occluded=np.asarray(occluded, dtype=np.bool_),
        truncated=np.asarray(truncated, dtype=np.bool_),
        difficult=np.asarray(difficult, dtype=np.bool_),
    )


def match_config(
    config: TestExecutionConfig, fps: float | None, frame_count: int | None = None
) -> MatchConfig:
    """The matcher's rules from a session's stored execution config and its video's frame rate
    and frame count.

    :raises ValueError: a value the matcher cannot use (named in the message).
    """
    return ExecutionConfigBase.model_validate(config).match_config(fps, frame_count)


_SIGNAL_COLUMNS = (
    "id",
    "rig_id",
    "t_mono_ns",
    "t_video_ms",
    "vru_type",
    "bbox",
    "confidence",
    "frame_number",
)


def _floats(values: Sequence[Any]) -> NDArray[np.float64]:
    """A float array; None becomes NaN (numpy converts it so for a float dtype)."""
    return np.asarray(values, dtype=np.float64)


def signals_from_columns(
    columns: Mapping[str, Sequence[Any]], rig_id: str, sync_mono_ns: int | None
) -> Signals:
    """Matching input from ``detection_events`` columns (a sequence per column name of
    ``_SIGNAL_COLUMNS``; ``bbox`` may be left out when boxes are not needed)."""
    ids = columns["id"]
    if not ids:
        return Signals.from_arrays(np.asarray([], dtype="<U36"))
    t_video = _floats(columns["t_video_ms"])
    if sync_mono_ns is not None:
        own = np.asarray(columns["rig_id"]) == rig_id
        mono = np.asarray(columns["t_mono_ns"], dtype=np.int64)
        t_video = np.where(own, (mono - np.int64(sync_mono_ns)) / 1e6, t_video)
    frames = _floats(columns["frame_number"])
    boxes = columns.get("bbox")
    tracks = columns.get("track_id")
    return Signals.from_arrays(
        record_id=np.asarray(ids),
        t_video_ms=t_video,
        vru_type=list(columns["vru_type"]),
        bbox=(
            np.asarray([_box(b) for b in boxes], dtype=np.float64)
            if boxes is not None and any(b is not None for b in boxes)
            else None
        ),
        confidence=_floats(columns["confidence"]),
        frame=np.where(np.isnan(frames), -1, frames).astype(np.int64),
        track_id=list(tracks) if tracks is not None else None,
    )


def signals_from_rows(
    rows: Sequence[Mapping[str, Any]], rig_id: str, sync_mono_ns: int | None
) -> Signals:
    """Matching input from ``detection_events`` rows (dicts with that table's column names)."""
    columns = {name: [row.get(name) for row in rows] for name in _SIGNAL_COLUMNS}
    return signals_from_columns(columns, rig_id, sync_mono_ns)


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


def _judged(session_id: str) -> list[ColumnElement[bool]]:
    """SQL for :func:`is_judged` records of the session."""
    e = DetectionEvent
    role = e.payload["fields"]["role"].as_string()
    return [
        e.test_session_id == session_id,
        e.kind == MATCHED_KIND,
        or_(role.is_(None), role != "stimulus"),
    ]


def judged_ids(db: Session, session_id: str, since_id: str | None = None) -> list[str]:
    """Ids of the session's judged records, those above ``since_id`` when given."""
    e = DetectionEvent
    where = _judged(session_id)
    if since_id is not None:
        where.append(e.id > since_id)
    return list(db.scalars(select(e.id).where(*where)))


def _judged_records(
    db: Session, session_id: str, *, with_boxes: bool, ids: Sequence[str] | None = None
) -> list[Any]:
    """The session's judged records (see :func:`is_judged`, filtered in SQL), in id order;
    only those of ``ids`` when given."""
    e = DetectionEvent
    names = [n for n in _SIGNAL_COLUMNS if with_boxes or n != "bbox"]
    columns: list[Any] = [getattr(e, n) for n in names]
    if with_boxes:  # track ids only matter where boxes are matched (spatial mode)
        columns.append(e.payload["track_id"].as_string().label("track_id"))
    where = _judged(session_id)
    if ids is not None:
        where.append(e.id.in_(ids))
    return list(db.execute(select(*columns).where(*where).order_by(e.id)).all())


def load_judged_rows(
    db: Session, session_id: str, ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The session's judged records (those of ``ids`` when given) as dicts with boxes, in id
    (arrival) order."""
    return [
        {**row._asdict(), "kind": MATCHED_KIND}
        for row in _judged_records(db, session_id, with_boxes=True, ids=ids)
    ]


def _judged_columns(db: Session, session_id: str, *, with_boxes: bool) -> dict[str, Sequence[Any]]:
    names = [n for n in _SIGNAL_COLUMNS if with_boxes or n != "bbox"]
    if with_boxes:
        names.append("track_id")
    rows = _judged_records(db, session_id, with_boxes=with_boxes)
    if not rows:
        return {name: [] for name in names}
    return dict(zip(names, zip(*rows, strict=True), strict=True))


def load_inputs(db: Session, session_id: str, *, lock: bool = False) -> SessionInputs:
    """Read a session's ground truth, records and rules (``lock``: see :func:`load_session`).

    :raises NotFound: no such session.
    :raises ValueError: the session has no execution config, or a stored value is unusable.
    """
    session = load_session(db, session_id, lock=lock)
    config = session.execution_config
    if config is None:
        raise ValueError(f"test session {session_id!r} was never started: it has no config")
    fps, frame_count = db.execute(
        select(Video.fps, Video.frame_count).where(Video.id == session.video_id)
    ).one()
    rules = match_config(config, fps, frame_count)
    spatial = rules.mode is MatchMode.SPATIAL
    sync = sync_instant(db, session)
    columns = _judged_columns(db, session_id, with_boxes=spatial)
    return SessionInputs(
        session=session,
        ground_truth=load_ground_truth(db, session.video_id, with_boxes=spatial),
        signals=signals_from_columns(columns, session.rig_id, sync),
        claimed_types=np.asarray(columns["vru_type"], dtype=object),
        config=rules,
        sync_mono_ns=sync,
    )
