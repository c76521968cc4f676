"""Validation shared by every importer: boxes found in a file become rows, or issues.

Each format's parser reads its file and hands every box it finds to :class:`RowCollector` as a
:class:`FoundBox`. The collector checks frame, box, track id and uniqueness of the natural key,
clips boxes to the frame and drops empty ones (both reported), derives the timestamp from the
frame rate, generates missing track ids, and refuses the whole import if any issue was found.
Frame and timestamp follow :mod:`central.formats.rules`, like every other write, so
rows that pass here also pass there (clipping keeps boxes inside the frame).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from central.formats.categories import track_prefix
from central.formats.errors import AnnotationImportError
from central.formats.limits import ImportLimits
from central.formats.model import AnnotationRow, BoundingBox, VideoInfo
from central.formats.report import Action, ImportReport, Issue, Location
from central.formats.rules import VideoGeometry, box_text, fit_to_frame, is_finite, place_in_video
from protocol import VruType

__all__ = [
    "MAX_ANNOTATOR_LENGTH",
    "MAX_NOTES_LENGTH",
    "MAX_TRACK_ID_LENGTH",
    "FoundBox",
    "ImportResult",
    "RowCollector",
]

#: the lengths the database and the annotation API allow
MAX_TRACK_ID_LENGTH = 64
MAX_ANNOTATOR_LENGTH = 64
MAX_NOTES_LENGTH = 10_000


@dataclass(slots=True, kw_only=True)
class FoundBox:
    """A box as a parser read it, before validation."""

    location: Location
    frame_number: int
    vru_type: VruType
    box: BoundingBox
    detection_id: str | None = None
    timestamp: float | None = None
    occluded: bool = False
    truncated: bool = False
    difficult: bool = False
    validated: bool = False
    notes: str | None = None
    annotator: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    rows: list[AnnotationRow]
    report: ImportReport


class RowCollector:
    def __init__(self, video: VideoInfo, label: str, format_name: str, limits: ImportLimits):
        self.video = video
        self.label = label
        self.report = ImportReport(format=format_name)
        self._limits = limits
        self._issues: list[Issue] = []
        self._more_issues = 0
        self._boxes: list[FoundBox] = []
        self._keys: dict[tuple[int, str], Location] = {}
        self._missing_fps_reported = False
        self._geometry = VideoGeometry(video.fps, video.frame_count, video.width, video.height)
        self._foreign: dict[str, int] = {}
        if video.size is None:
            self.report.warn("video width and height unknown: boxes were not clipped to the frame")

    def issue(self, location: Location, message: str) -> None:
        if len(self._issues) < self._limits.max_issues:
            self._issues.append(Issue(location, message))
        else:
            self._more_issues += 1

    def drop(self, location: Location, message: str) -> None:
        self.report.record(Action.DROPPED, str(location), message)

    def drop_foreign(self, location: Location, class_name: str) -> None:
        """Drops a box whose class is no VRU type (a file may hold cars too)."""
        self.report.boxes_read += 1
        self._foreign[class_name] = self._foreign.get(class_name, 0) + 1
        self.drop(location, f"class '{class_name}' is not a VRU type")

    def add(self, box: FoundBox) -> None:
        self.report.boxes_read += 1
        if self.report.boxes_read > self._limits.max_boxes:
            if self.report.boxes_read == self._limits.max_boxes + 1:
                self.issue(Location(self.label), f"more than {self._limits.max_boxes} boxes")
            return
        if (
            self._placed(box)
            and self._box_ok(box)
            and self._track_ok(box)
            and self._texts_ok(box)
        ):
            self._boxes.append(box)

    def _placed(self, box: FoundBox) -> bool:
        """Frame and timestamp checked by the same rules as annotations written through the API."""
        if box.timestamp is None and not (self.video.fps and self.video.fps > 0):
            if not self._missing_fps_reported:
                self._missing_fps_reported = True
                self.issue(
                    Location(self.label),
                    "the video's frame rate is unknown, so frame timestamps cannot be derived",
                )
            return False
        placement, problems = place_in_video(box.frame_number, box.timestamp, self._geometry)
        for path, message in problems:
            where = box.location
            self.issue(Location(where.file, where.line, where.element, str(path[-1])), message)
        if placement is None:
            return False
        box.timestamp = placement.timestamp
        return True

    def _box_ok(self, found: FoundBox) -> bool:
        box = found.box
        if not is_finite(box):
            self.issue(found.location, f"box {box_text(box)} is not made of finite numbers")
            return False
        fitted = fit_to_frame(box, self.video.size)
        if isinstance(fitted, str):
            self.drop(found.location, fitted)
            return False
        if fitted is not box:
            found.box = fitted
            self.report.record(
                Action.CLIPPED,
                str(found.location),
                f"box {box_text(box)} clipped to {box_text(fitted)} to fit the frame",
            )
        return True

    def _track_ok(self, box: FoundBox) -> bool:
        if box.detection_id is not None:
            box.detection_id = box.detection_id.strip() or None
        track = box.detection_id
        if track is None:
            return True
        if len(track) > MAX_TRACK_ID_LENGTH:
            self.issue(box.location, f"track id is longer than {MAX_TRACK_ID_LENGTH} characters")
            return False
        key = (box.frame_number, track)
        first = self._keys.get(key)
        if first is not None:
            self.issue(
                box.location,
                f"track '{track}' already has a box in frame {box.frame_number} (at {first})",
            )
            return False
        self._keys[key] = box.location
        return True

    def _texts_ok(self, box: FoundBox) -> bool:
        if box.notes is None and box.annotator is None:
            return True
        fine = True
        for name, limit in (("notes", MAX_NOTES_LENGTH), ("annotator", MAX_ANNOTATOR_LENGTH)):
            text = getattr(box, name)
            if text is not None and len(text) > limit:
                where = box.location
                self.issue(
                    Location(where.file, where.line, where.element, name),
                    f"longer than {limit} characters",
                )
                fine = False
        return fine

    def finish(self) -> ImportResult:
        """The validated rows, or AnnotationImportError listing every issue found."""
        if self._issues:
            raise AnnotationImportError(self._issues, self._more_issues)
        for class_name, count in self._foreign.items():
            self.report.warn(f"class '{class_name}' is not a VRU type: {count} boxes dropped")
        self._generate_track_ids()
        rows = [_to_row(box) for box in self._boxes]
        self.report.imported = len(rows)
        self.report.frames = len({row.frame_number for row in rows})
        return ImportResult(rows, self.report)

    def _generate_track_ids(self) -> None:
        """One new track per box without one, never reusing an id present in the file."""
        used = {track for _, track in self._keys}
        counters: dict[VruType, int] = defaultdict(int)
        for box in self._boxes:
            if box.detection_id is not None:
                continue
            prefix = track_prefix(box.vru_type)
            while True:
                counters[box.vru_type] += 1
                candidate = f"{prefix}{counters[box.vru_type]:04d}"
                if candidate not in used:
                    break
            used.add(candidate)
            box.detection_id = candidate
            self.report.generated_track_ids += 1
        if self.report.generated_track_ids:
            self.report.warn(
                f"{self.report.generated_track_ids} boxes had no track id: each got a new one"
            )


def _to_row(box: FoundBox) -> AnnotationRow:
    assert box.detection_id is not None and box.timestamp is not None
    return AnnotationRow(
        detection_id=box.detection_id,
        frame_number=box.frame_number,
        timestamp=box.timestamp,
        vru_type=box.vru_type,
        bounding_box=box.box,
        occluded=box.occluded,
        truncated=box.truncated,
        difficult=box.difficult,
        validated=box.validated,
        notes=box.notes,
        annotator=box.annotator,
        created_at=box.created_at,
        updated_at=box.updated_at,
    )

