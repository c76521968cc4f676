"""A test session's detections in MOTChallenge text, as a zip (text format: :mod:`mot_text`).

Export: ``data/<video>.txt`` (where TrackEval looks for a tracker's result of one sequence),
``track_ids.json`` and ``export_report.json``. One line per detection record with a frame and a
box, ordered by frame, then arrival:

- ``frame``: the record's frame + 1 (its own, else the one its video time falls in, as the
  spatial matcher places it); ``x, y, w, h``: the box as the model reported it (+1 on x, y),
  not clipped;
- ``id``: the record's ``track_id`` numbered 1, 2, ... by first appearance (``track_ids.json``
  maps them back), -1 for a record without one;
- ``conf``: the confidence, -1 when the record has none;
- ``class``: the VRU type as in :mod:`central.formats.mot` (1 pedestrian ... 5 scooter rider),
  -1 when the record claimed none; ``visibility``: -1 (a detector does not say).

Records without a box or frame cannot be written: the report counts them as dropped.

Import (into a running session without a rig, as if posted over HTTP): that zip or a bare MOT
text file. ``conf`` must be within [0, 1], or -1 for none; class -1 means pedestrian (warned),
a class beyond 5 drops the line (reported); ids become track ids through ``track_ids.json``, else
as their number; frames past the video's last frame are refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from central.formats.errors import AnnotationImportError
from central.formats.limits import ImportLimits
from central.formats.model import BoundingBox
from central.formats.mot_text import (
    NO_TRACK,
    TRACK_IDS_ENTRY,
    TrackNumbers,
    class_of,
    format_line,
    mot_archive,
    read_lines,
    read_upload,
    track_id_of,
    vru_of,
)
from central.formats.report import Action, ExportReport, ImportReport, Issue, Location
from central.formats.source import Source
from protocol import VruType

__all__ = ["DetectionBox", "DetectionImport", "export_mot_detections", "parse_mot_detections"]

_NO_VALUE = -1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectionBox:
    """A detection record as the converter writes or reads it; ``frame`` is 0-based (None:
    unknown), ``box`` 0-based pixels (None: the record has none)."""

    frame: int | None
    box: BoundingBox | None
    vru_type: VruType | None = None
    confidence: float | None = None
    track_id: str | None = None
    #: how the report names the record (export only)
    record_id: str | None = None


@dataclass(frozen=True, slots=True)
class DetectionImport:
    detections: list[DetectionBox]
    report: ImportReport

    @property
    def tracks(self) -> int:
        return len({d.track_id for d in self.detections if d.track_id is not None})


def export_mot_detections(
    sequence: str, detections: Iterable[DetectionBox], report: ExportReport
) -> Iterator[bytes]:
    """The zip of a session's detections; ``detections`` ordered by frame."""
    numbers = TrackNumbers()
    report.warn(
        f"MOT ids number the record track ids from 1 in order of first appearance; "
        f"{TRACK_IDS_ENTRY} maps them back"
    )
    lines = _detection_lines(detections, numbers, report)
    return mot_archive(f"data/{sequence}.txt", (), lines, numbers, report)


def _detection_lines(
    detections: Iterable[DetectionBox], numbers: TrackNumbers, report: ExportReport
) -> Iterator[str]:
    frames: set[int] = set()
    for detection in detections:
        where = f"record {detection.record_id}"
        if detection.frame is None or detection.frame < 0:
            report.record(Action.DROPPED, where, "has no frame (and no video time to place it)")
            continue
        box = detection.box
        if box is None or not (box.width > 0 and box.height > 0):
            report.record(Action.DROPPED, where, "has no box with an area")
            continue
        frames.add(detection.frame)
        report.annotations += 1
        report.frames = len(frames)
        track = NO_TRACK if detection.track_id is None else numbers.number(detection.track_id)
        yield format_line(
            detection.frame,
            track,
            box,
            _NO_VALUE if detection.confidence is None else detection.confidence,
            class_of(detection.vru_type),
            _NO_VALUE,
        )


class _Issues:
    def __init__(self, limits: ImportLimits) -> None:
        self.issues: list[Issue] = []
        self.more = 0
        self._limit = limits.max_issues

    def __call__(self, location: Location, message: str) -> None:
        if len(self.issues) < self._limit:
            self.issues.append(Issue(location, message))
        else:
            self.more += 1


def parse_mot_detections(
    source: Source, label: str, limits: ImportLimits, frame_count: int | None
) -> DetectionImport:
    """Every detection of the file, or AnnotationImportError listing what refused it."""
    report = ImportReport(format="mot")
    complain = _Issues(limits)
    upload = read_upload(source, label, limits, (".txt",), complain)
    if upload is None:
        raise AnnotationImportError(complain.issues, complain.more)
    detections: list[DetectionBox] = []
    without_class = 0
    for line in read_lines(upload.text, upload.label, complain):
        report.boxes_read += 1
        where = Location(upload.label, line=line.line)
        if report.boxes_read > limits.max_boxes:
            if report.boxes_read == limits.max_boxes + 1:
                complain(Location(label), f"more than {limits.max_boxes} detections")
            continue
        if frame_count is not None and line.frame >= frame_count:
            complain(
                Location(where.file, where.line, field="frame"),
                f"frame {line.frame + 1} is past the video's last frame ({frame_count})",
            )
            continue
        if line.conf != _NO_VALUE and not 0 <= line.conf <= 1:
            complain(
                Location(where.file, where.line, field="conf"),
                f"confidence {line.conf:g} is not within [0, 1] (or -1 for none)",
            )
            continue
        vru = vru_of(line)
        if vru is None:
            report.record(Action.DROPPED, str(where), f"MOT class {line.class_id} is no VRU type")
            continue
        without_class += line.class_id == -1
        known, track = track_id_of(line, upload, complain)
        if not known:
            continue
        detections.append(
            DetectionBox(
                frame=line.frame,
                box=line.box,
                vru_type=vru,
                confidence=None if line.conf == _NO_VALUE else line.conf,
                track_id=track,
            )
        )
    if complain.issues:
        raise AnnotationImportError(complain.issues, complain.more)
    if without_class:
        report.warn(f"{without_class} detections had no class (-1): read as pedestrians")
    report.imported = len(detections)
    report.frames = len({d.frame for d in detections})
    return DetectionImport(detections, report)
