"""A test session's detections as MOTChallenge text, out and in (:mod:`central.formats.mot_detections`).

Export reads the session's judged records (what the matcher judges: no sync, latency or
stimulus records) and places each in its frame the way the spatial matcher does: its own frame
number, else the frame its video time falls in. Records come out ordered by frame, then arrival.

Import parses and checks the whole file first (a refused file stores nothing), then hands every
detection to the executor's HTTP detection path in one call: one transaction, and every record
gets its provisional verdict, as if the model had posted them over HTTP. ``dry_run`` needs only
the session and its video (so a file can be checked before the session starts); the import
itself needs the session running.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from central.db.models import Video
from central.execution.loading import (
    load_judged_rows,
    load_session,
    signals_from_rows,
    sync_instant,
)
from central.formats import DEFAULT_LIMITS, BoundingBox, ExportReport, ExportResult
from central.formats.categories import category_from_name
from central.formats.mot import sequence_name
from central.formats.mot_detections import (
    DetectionBox,
    DetectionImport,
    export_mot_detections,
    parse_mot_detections,
)
from central.matching.spatial import frames_of
from central.services.annotation_io import ExportProgress, StreamedExport, video_info
from central.services.errors import Conflict

__all__ = ["as_http_records", "parse_session_detections", "start_detections_export"]

logger = logging.getLogger(__name__)

_MEDIA_TYPE = "application/zip"


def _session_video(db: Session, session_id: str) -> tuple[Any, Video]:
    session = load_session(db, session_id)
    video = db.get(Video, session.video_id)
    assert video is not None  # a session's video cannot be deleted under it (foreign key)
    return session, video


def _detection_boxes(db: Session, session: Any, fps: float | None) -> list[DetectionBox]:
    rows = load_judged_rows(db, session.id)
    signals = signals_from_rows(rows, session.rig_id, sync_instant(db, session))
    needs_time = bool(((signals.frame < 0) & ~np.isnan(signals.t_video_ms)).any())
    frames = frames_of(signals, fps) if fps or not needs_time else signals.frame
    boxes: list[DetectionBox] = []
    for row, frame, box, confidence in zip(
        rows, frames.tolist(), signals.bbox.tolist(), signals.confidence.tolist(), strict=True
    ):
        boxes.append(
            DetectionBox(
                frame=frame if frame >= 0 else None,
                box=None if np.isnan(box).any() else BoundingBox(*box),
                vru_type=category_from_name(row.get("vru_type") or ""),
                confidence=None if np.isnan(confidence) else confidence,
                track_id=row.get("track_id") or None,
                record_id=row["id"],
            )
        )
    # Stable: records of one frame keep their arrival order; those without a frame go first
    # (the exporter drops them).
    boxes.sort(key=lambda d: -1 if d.frame is None else d.frame)
    return boxes


def _counted(
    detections: Sequence[DetectionBox], progress: ExportProgress
) -> Iterator[DetectionBox]:
    for detection in detections:
        progress.done += 1
        yield detection


def start_detections_export(factory: sessionmaker[Session], session_id: str) -> StreamedExport:
    """The session's detections as a MOT zip, ready to stream.

    :raises NotFound: no such session.
    """
    with factory() as db:
        session, video = _session_video(db, session_id)
        detections = _detection_boxes(db, session, video.fps)
        info = video_info(video)
    sequence = sequence_name(info)
    progress = ExportProgress(total=len(detections), video_id=info.id)
    report = ExportReport(format="mot")
    chunks = export_mot_detections(sequence, _counted(detections, progress), report)
    filename = f"{sequence}.detections.mot.zip"
    result = ExportResult(_MEDIA_TYPE, filename, chunks, report)
    logger.info("exporting %d records of session %s as MOT", len(detections), session_id)
    return StreamedExport(
        format="mot",
        filename=filename,
        media_type=_MEDIA_TYPE,
        chunks=chunks,
        progress=progress,
        video_ids=[info.id],
        report_location="export_report.json in the archive",
        reports=[result],
    )


def parse_session_detections(
    db: Session, session_id: str, path: Path, *, filename: str | None, dry_run: bool
) -> DetectionImport:
    """Read and check a MOT file against the session's video.

    :raises NotFound: no such session.
    :raises Conflict: the session is not running (unless ``dry_run``), or its video has no
        frame rate (MOT frames could not be placed in video time).
    :raises AnnotationImportError: the file was refused.
    """
    session, video = _session_video(db, session_id)
    if not dry_run and session.status != "running":
        raise Conflict(
            f"test session {session_id!r} is {session.status}: detections are taken while it runs"
        )
    if not video.fps:
        raise Conflict(
            f"the frame rate of video {video.id} is unknown, so MOT frames cannot be placed in "
            "video time"
        )
    return parse_mot_detections(path, filename or path.name, DEFAULT_LIMITS, video.frame_count)


def as_http_records(detections: Sequence[DetectionBox]) -> list[dict[str, Any]]:
    """The detections as the HTTP detection path takes them (``HttpDetection.as_record``)."""
    records = []
    for d in detections:
        box = d.box
        assert box is not None and d.frame is not None  # parsed lines always have both
        records.append(
            {
                "t_video_ms": None,
                "timestamp": None,
                "frame_number": d.frame,
                "vru_type": d.vru_type.value if d.vru_type is not None else None,
                "bbox": [box.x, box.y, box.width, box.height],
                "confidence": d.confidence,
                "track_id": d.track_id,
            }
        )
    return records
