"""Detections posted over HTTP, for models tested without a rig.

They are stored like rig records, as ``detection_events`` rows of rig ``http`` with one stream
per session and a growing ``seq``, so the live and final matching treat them exactly like any
other record. Their video time is the one posted (``t_video_ms``, or ``timestamp`` in seconds),
else derived from the frame number and the video's frame rate.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from central.db.models import DetectionEvent, Video
from central.db.types import new_id, utcnow
from central.execution.loading import load_session
from central.services.errors import Conflict, InvalidInput

__all__ = ["HTTP_RIG_ID", "http_stream", "store_http_detections"]

logger = logging.getLogger(__name__)

HTTP_RIG_ID = "http"
"""Rig id of sessions whose detections arrive over HTTP, and of the rows posted that way."""


def http_stream(session_id: str) -> str:
    return f"session-{session_id}"


def _payload(detection: dict[str, Any]) -> dict[str, Any]:
    """The stored payload: the posted detection as sent, plus its track id where the matcher
    reads it (as ingest stores a rig's)."""
    payload: dict[str, Any] = {"raw_line": orjson.dumps(detection).decode()}
    if detection.get("track_id") is not None:
        payload["track_id"] = detection["track_id"]
    return payload


def _video_time_ms(detection: dict[str, Any], fps: float | None, index: int) -> float:
    if detection.get("t_video_ms") is not None:
        return float(detection["t_video_ms"])
    if detection.get("timestamp") is not None:
        return float(detection["timestamp"]) * 1000.0
    frame = detection.get("frame_number")
    if frame is None:
        raise InvalidInput("give tVideoMs, timestamp or frameNumber", f"detections.{index}")
    if not fps:
        raise InvalidInput(
            "the video has no frame rate, so a frame number cannot be placed in time: "
            "give tVideoMs or timestamp",
            f"detections.{index}.frameNumber",
        )
    return float(frame) * 1000.0 / fps


def store_http_detections(
    db: Session, session_id: str, detections: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Store posted detections of a running session; return the new rows as dicts.

    Each detection: ``t_video_ms`` or ``timestamp`` (s) or ``frame_number``; optional
    ``vru_type``, ``bbox`` ([x, y, w, h]), ``confidence``.

    :raises NotFound: no such session.
    :raises Conflict: the session is not running.
    :raises InvalidInput: a detection cannot be placed in video time.
    """
    session = load_session(db, session_id)
    if session.status != "running":
        raise Conflict(
            f"test session {session_id!r} is {session.status}: detections are taken while it runs"
        )
    fps = db.scalar(select(Video.fps).where(Video.id == session.video_id))
    stream = http_stream(session_id)
    last = db.scalar(
        select(func.max(DetectionEvent.seq)).where(
            DetectionEvent.rig_id == HTTP_RIG_ID, DetectionEvent.stream == stream
        )
    )
    first_seq = 0 if last is None else int(last) + 1
    now = utcnow()
    mono_ns, wall_ns = time.monotonic_ns(), time.time_ns()
    rows = [
        {
            "id": new_id(),
            "test_session_id": session_id,
            "rig_id": HTTP_RIG_ID,
            "stream": stream,
            "seq": first_seq + i,
            "kind": "detection",
            "channel": "http",
            "source": "http",
            "clock": "user_monotonic",
            "t_mono_ns": mono_ns,
            "t_wall_ns": wall_ns,
            "t_video_ms": _video_time_ms(d, fps, i),
            "vru_type": d.get("vru_type"),
            "bbox": list(d["bbox"]) if d.get("bbox") is not None else None,
            "confidence": d.get("confidence"),
            "frame_number": d.get("frame_number"),
            "payload": _payload(d),
            "received_at": now,
        }
        for i, d in enumerate(detections)
    ]
    if rows:
        db.execute(insert(DetectionEvent), rows)
        db.commit()
    logger.debug("session %s: %d detections posted over HTTP", session_id, len(rows))
    return rows
