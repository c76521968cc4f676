"""Export and import of a video's ground truth, between the database and the format converters.

The converters (:mod:`central.formats`) are pure; this module feeds them stored rows and
stores what they parse.

Export streams: annotations are read in pages of :data:`PAGE_SIZE` (``yield_per``: a server-side
cursor on PostgreSQL) ordered by ``(frame_number, id)``. Ids are time-ordered and an import inserts
its rows in file order, so a frame's boxes come out in the order they were imported, and an
export -> import -> export round trip gives the same file. Each stream opens its own database
session, so it outlives the request's session. The report of what was clipped, dropped or could
not be carried is final only once the stream ends, so it travels inside the file (``report`` in
our JSON, ``export_report`` in COCO, ``export_report.json`` in the YOLO, VOC and MOT zips); what is
known before the first byte (format, stored annotations) is :meth:`StreamedExport.header_summary`.

Import reads and validates the whole upload first (the converters refuse a bad file as a whole,
naming file, line or element and field), then checks every row by the rules of API writes
(:mod:`central.formats.rules`), then plans against the video's stored annotations by
the natural key ``(frame_number, detection_id)`` and writes the plan in one transaction:

- ``skip``: a row whose key is stored is not written; stored rows stay as they are.
- ``merge``: a row whose key is stored overwrites that row's fields (its id and ``createdAt`` stay)
  unless they are equal already (then it counts as unchanged); other rows are inserted; stored
  rows the file does not mention stay.
- ``replace``: every stored annotation of the video is deleted, then every row inserted.

YOLO has no track ids: its rows get generated ones (``DET_PED_0001`` ...), which are the keys the
policy then compares. ``dry_run`` computes the same counts and writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pydantic.alias_generators import to_camel
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from central.db.models import GroundTruthAnnotation, Video
from central.db.types import new_ids, utcnow
from central.formats import (
    DEFAULT_LIMITS,
    Annotation,
    AnnotationImportError,
    AnnotationRow,
    BoundingBox,
    ExportError,
    ExportResult,
    ImportReport,
    Issue,
    Location,
    VideoInfo,
    export_annotations,
    parse_annotations,
)
from central.formats.rules import VideoGeometry, check_box, place_in_video
from central.schemas.annotation_io import ConflictPolicy
from central.services.errors import Conflict
from central.services.videos import get_video
from protocol import VruType

__all__ = [
    "PAGE_SIZE",
    "REPORT_LOCATIONS",
    "ExportProgress",
    "ImportOutcome",
    "ProgressCallback",
    "StreamedExport",
    "count_annotations",
    "import_annotations",
    "prepare_export",
    "read_annotations",
    "start_video_export",
    "video_info",
]

logger = logging.getLogger(__name__)

PAGE_SIZE = 2000
"""Rows read per round trip when exporting, and written per statement when importing."""

_TABLE = cast(Table, GroundTruthAnnotation.__table__)
_COLUMNS = _TABLE.c

ProgressCallback = Callable[[Mapping[str, Any]], None]


def video_info(video: Video) -> VideoInfo:
    return VideoInfo(
        id=video.id,
        filename=video.filename,
        width=video.width,
        height=video.height,
        fps=video.fps,
        frame_count=video.frame_count,
    )


def count_annotations(session: Session, video_ids: Sequence[str] | None = None) -> int:
    """Stored annotations of these videos (of every video when ``None``)."""
    query = select(func.count()).select_from(_TABLE)
    if video_ids is not None:
        query = query.where(_COLUMNS.video_id.in_(video_ids))
    return session.scalar(query) or 0


# ------------------------------------------------------------------------------------- export


@dataclass
class ExportProgress:
    """How far a streamed export has read; updated from the streaming thread."""

    total: int
    done: int = 0
    video_id: str | None = None


def _to_annotation(row: Any) -> Annotation:
    box = row.bounding_box
    return Annotation(
        id=row.id,
        video_id=row.video_id,
        detection_id=row.detection_id,
        frame_number=row.frame_number,
        timestamp=row.timestamp,
        vru_type=VruType(row.vru_type),
        bounding_box=BoundingBox(box["x"], box["y"], box["width"], box["height"]),
        occluded=row.occluded,
        truncated=row.truncated,
        difficult=row.difficult,
        validated=row.validated,
        notes=row.notes,
        annotator=row.annotator,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def read_annotations(
    factory: sessionmaker[Session], video_id: str, progress: ExportProgress
) -> Iterator[Annotation]:
    """A video's annotations in ``(frame_number, id)`` order, a page at a time, in a session of
    their own that closes when the iteration ends or is abandoned."""
    query = (
        select(_TABLE)
        .where(_COLUMNS.video_id == video_id)
        .order_by(_COLUMNS.frame_number, _COLUMNS.id)
        .execution_options(yield_per=PAGE_SIZE)
    )
    with factory() as session:
        progress.video_id = video_id
        for row in session.execute(query):
            progress.done += 1
            yield _to_annotation(row)


@dataclass
class StreamedExport:
    """An export ready to stream: ``chunks`` once, then ``reports`` are final."""

    format: str
    filename: str
    media_type: str
    chunks: Iterator[bytes]
    progress: ExportProgress
    video_ids: list[str]
    #: where the full report is inside the file
    report_location: str
    reports: list[ExportResult] = field(default_factory=list)

    def header_summary(self) -> dict[str, Any]:
        """What is known before the first byte; the final report is inside the file."""
        return {
            "format": self.format,
            "videos": len(self.video_ids),
            "storedAnnotations": self.progress.total,
            "reportIn": self.report_location,
        }

    def report_summary(self) -> dict[str, Any]:
        """Totals of the reports once the stream has ended (for the last progress event)."""
        totals: dict[str, Any] = {"annotations": 0, "frames": 0, "clipped": 0, "dropped": 0}
        not_represented: dict[str, int] = {}
        for result in self.reports:
            report = result.report
            for key in totals:
                totals[key] += getattr(report, key)
            for name, count in report.not_represented.items():
                not_represented[name] = not_represented.get(name, 0) + count
        return {**totals, "notRepresented": not_represented}


#: where each format keeps its report, as the converters write it
REPORT_LOCATIONS = {
    "json": "the document's 'report' field",
    "coco": "the document's 'export_report' field",
    "yolo": "export_report.json in the archive",
    "pascal_voc": "export_report.json in the archive",
    "mot": "export_report.json in the archive",
}


def prepare_export(
    format_name: str, video: VideoInfo, annotations: Iterator[Annotation]
) -> ExportResult:
    """Start a converter; a video the format cannot describe is a :class:`Conflict`."""
    try:
        return export_annotations(format_name, video, annotations)
    except ExportError as exc:
        raise Conflict(str(exc)) from exc


def start_video_export(
    factory: sessionmaker[Session], video_id: str, format_name: str
) -> StreamedExport:
    """Check the video (404) and the format (409 when the video lacks what it needs) before
    anything is streamed."""
    with factory() as session:
        info = video_info(get_video(session, video_id))
        progress = ExportProgress(total=count_annotations(session, [video_id]))
    result = prepare_export(format_name, info, read_annotations(factory, video_id, progress))
    return StreamedExport(
        format=format_name,
        filename=result.filename,
        media_type=result.media_type,
        chunks=result.chunks,
        progress=progress,
        video_ids=[video_id],
        report_location=REPORT_LOCATIONS.get(format_name, "the exported file"),
        reports=[result],
    )


# ------------------------------------------------------------------------------------- import


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    video_id: str
    format: str
    dry_run: bool
    on_conflict: ConflictPolicy
    created: int
    updated: int
    skipped: int
    deleted: int
    #: stored annotations the import left as they were
    unchanged: int
    report: ImportReport


@dataclass(slots=True)
class _Plan:
    inserts: list[AnnotationRow] = field(default_factory=list)
    updates: list[tuple[str, AnnotationRow]] = field(default_factory=list)
    skipped: int = 0
    deleted: int = 0


def _rule_issues(rows: Sequence[AnnotationRow], video: Video, label: str) -> list[Issue]:
    """The rules of API writes, applied to every parsed row (the converters already meet them;
    this keeps imports bound by the same rules should either side change)."""
    geometry = VideoGeometry(video.fps, video.frame_count, video.width, video.height)
    issues: list[Issue] = []
    for row in rows:
        element = f"frame {row.frame_number} track {row.detection_id!r}"
        box = row.bounding_box
        _, placement_problems = place_in_video(row.frame_number, row.timestamp, geometry)
        problems = placement_problems + check_box(box.x, box.y, box.width, box.height, geometry)
        for path, message in problems:
            issues.append(Issue(Location(label, element=element, field=str(path[-1])), message))
        for name in ("detection_id", "notes", "annotator"):
            text = getattr(row, name)
            if text is not None and "\x00" in text:
                where = Location(label, element=element, field=to_camel(name))
                issues.append(Issue(where, "holds a NUL character, which cannot be stored"))
        for name in ("created_at", "updated_at"):
            moment = getattr(row, name)
            if moment is not None and moment.utcoffset() is None:
                where = Location(label, element=element, field=to_camel(name))
                issues.append(Issue(where, "has no time zone"))
    return issues


_Stored = dict[tuple[int, str], tuple[str, dict[str, Any] | None]]
"""(frame, track) -> (id, the row's values, loaded for merge only)."""


def _stored(session: Session, video_id: str, with_values: bool) -> _Stored:
    columns = [_COLUMNS.frame_number, _COLUMNS.detection_id, _COLUMNS.id]
    if with_values:
        columns += [_COLUMNS[name] for name in _VALUE_COLUMNS]
    rows = session.execute(select(*columns).where(_COLUMNS.video_id == video_id))
    return {
        (row.frame_number, row.detection_id): (
            row.id,
            {name: row._mapping[name] for name in _VALUE_COLUMNS} if with_values else None,
        )
        for row in rows
    }


def _plan(rows: Sequence[AnnotationRow], stored: _Stored, policy: ConflictPolicy) -> _Plan:
    plan = _Plan()
    if policy is ConflictPolicy.REPLACE:
        plan.deleted = len(stored)
        plan.inserts = list(rows)
        return plan
    for row in rows:
        match = stored.get(row.key)
        if match is None:
            plan.inserts.append(row)
        elif policy is ConflictPolicy.SKIP:
            plan.skipped += 1
        elif match[1] != _values(row):
            plan.updates.append((match[0], row))
    return plan


_VALUE_COLUMNS = (
    "detection_id",
    "frame_number",
    "timestamp",
    "vru_type",
    "bounding_box",
    "occluded",
    "truncated",
    "difficult",
    "validated",
    "notes",
    "annotator",
)


def _values(row: AnnotationRow) -> dict[str, Any]:
    """The stored columns of a row (:data:`_VALUE_COLUMNS`); ids and times aside."""
    box = row.bounding_box
    return {
        "detection_id": row.detection_id,
        "frame_number": row.frame_number,
        "timestamp": row.timestamp,
        "vru_type": row.vru_type.value,
        "bounding_box": {"x": box.x, "y": box.y, "width": box.width, "height": box.height},
        "occluded": row.occluded,
        "truncated": row.truncated,
        "difficult": row.difficult,
        "validated": row.validated,
        "notes": row.notes,
        "annotator": row.annotator,
    }


def _write(session: Session, video_id: str, plan: _Plan, report: ProgressCallback | None) -> None:
    """The plan in the session's transaction; the caller commits."""
    total = len(plan.inserts) + len(plan.updates)
    written = 0
    if plan.deleted:
        session.execute(delete(_TABLE).where(_COLUMNS.video_id == video_id))
    now = utcnow()
    for start in range(0, len(plan.updates), PAGE_SIZE):
        changes = plan.updates[start : start + PAGE_SIZE]
        session.execute(
            update(GroundTruthAnnotation),
            [{"id": stored_id, **_values(row), "updated_at": now} for stored_id, row in changes],
        )
        written += len(changes)
        if report is not None:
            report({"stage": "writing", "written": written, "total": total})
    ids = new_ids(len(plan.inserts))
    for start in range(0, len(plan.inserts), PAGE_SIZE):
        page = plan.inserts[start : start + PAGE_SIZE]
        session.execute(
            insert(_TABLE),
            [
                {
                    **_values(row),
                    "id": ids[start + offset],
                    "video_id": video_id,
                    "created_at": row.created_at or now,
                    "updated_at": row.updated_at,
                }
                for offset, row in enumerate(page)
            ],
        )
        written += len(page)
        if report is not None:
            report({"stage": "writing", "written": written, "total": total})


def import_annotations(
    session: Session,
    video_id: str,
    format_name: str,
    path: Path,
    *,
    filename: str | None,
    on_conflict: ConflictPolicy,
    dry_run: bool,
    progress: ProgressCallback | None = None,
) -> ImportOutcome:
    """Validate the whole file, then write it in one transaction (or, with ``dry_run``, only
    count what would change).

    :raises NotFound: no such video.
    :raises AnnotationImportError: the file was refused; nothing was written.
    """
    video = get_video(session, video_id)
    result = parse_annotations(format_name, path, video_info(video), filename=filename)
    label = filename or path.name
    issues = _rule_issues(result.rows, video, label)
    if issues:
        shown = DEFAULT_LIMITS.max_issues
        raise AnnotationImportError(issues[:shown], max(0, len(issues) - shown))
    if progress is not None:
        progress({"stage": "validated", "rows": len(result.rows)})
    stored = _stored(session, video_id, with_values=on_conflict is ConflictPolicy.MERGE)
    plan = _plan(result.rows, stored, on_conflict)
    if not dry_run:
        try:
            _write(session, video_id, plan, progress)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        logger.info(
            "imported %s into video %s (%s): %d created, %d updated, %d skipped, %d deleted",
            label,
            video_id,
            on_conflict,
            len(plan.inserts),
            len(plan.updates),
            plan.skipped,
            plan.deleted,
        )
    return ImportOutcome(
        video_id=video_id,
        format=format_name,
        dry_run=dry_run,
        on_conflict=on_conflict,
        created=len(plan.inserts),
        updated=len(plan.updates),
        skipped=plan.skipped,
        deleted=plan.deleted,
        unchanged=len(stored) - len(plan.updates) - plan.deleted,
        report=result.report,
    )
