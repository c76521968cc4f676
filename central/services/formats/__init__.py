"""Ground-truth annotation converters: our JSON, COCO, YOLO (Ultralytics) and Pascal VOC.

Pure functions over :class:`VideoInfo` and :class:`Annotation`; no database, no web code. A
service calls::

    result = export_annotations("coco", video, annotations)   # annotations: any iterable
    for chunk in result.chunks: ...                           # streamed; report final after

    imported = parse_annotations("yolo", upload_path, video)  # raises AnnotationImportError
    imported.rows, imported.report                            # rows keyed by .key

YOLO and Pascal VOC exports need the annotations ordered by frame number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from central.services.formats.coco import export_coco, parse_coco
from central.services.formats.collector import ImportResult
from central.services.formats.errors import (
    AnnotationImportError,
    ExportError,
    FormatError,
    UnknownFormatError,
)
from central.services.formats.json_format import export_json, parse_json
from central.services.formats.limits import DEFAULT_LIMITS, ImportLimits
from central.services.formats.model import Annotation, AnnotationRow, BoundingBox, VideoInfo
from central.services.formats.pascal_voc import export_pascal_voc, parse_pascal_voc
from central.services.formats.report import ExportReport, ImportReport, Issue, Location
from central.services.formats.source import Source, source_label
from central.services.formats.yolo import export_yolo, parse_yolo

__all__ = [
    "DEFAULT_LIMITS",
    "FORMATS",
    "Annotation",
    "AnnotationImportError",
    "AnnotationRow",
    "BoundingBox",
    "ExportError",
    "ExportReport",
    "ExportResult",
    "FormatError",
    "ImportLimits",
    "ImportReport",
    "ImportResult",
    "Issue",
    "Location",
    "UnknownFormatError",
    "VideoInfo",
    "export_annotations",
    "get_format",
    "parse_annotations",
]

Exporter = Callable[[VideoInfo, Iterable[Annotation], ExportReport], Iterator[bytes]]
Parser = Callable[[Source, VideoInfo, str, ImportLimits], ImportResult]


@dataclass(frozen=True, slots=True)
class AnnotationFormat:
    name: str
    media_type: str
    extension: str
    export: Exporter
    parse: Parser


FORMATS: dict[str, AnnotationFormat] = {
    f.name: f
    for f in (
        AnnotationFormat("json", "application/json", ".json", export_json, parse_json),
        AnnotationFormat("coco", "application/json", ".coco.json", export_coco, parse_coco),
        AnnotationFormat("yolo", "application/zip", ".yolo.zip", export_yolo, parse_yolo),
        AnnotationFormat(
            "pascal_voc", "application/zip", ".voc.zip", export_pascal_voc, parse_pascal_voc
        ),
    )
}


def get_format(name: str) -> AnnotationFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormatError(
            f"unknown annotation format {name!r}; known: {', '.join(FORMATS)}"
        ) from None


@dataclass(frozen=True, slots=True)
class ExportResult:
    """A streamed export: ``report`` is complete once ``chunks`` is exhausted."""

    media_type: str
    filename: str
    chunks: Iterator[bytes]
    report: ExportReport


def export_annotations(
    format_name: str, video: VideoInfo, annotations: Iterable[Annotation]
) -> ExportResult:
    """Starts an export; checks that need no annotation (video size) raise ExportError here."""
    fmt = get_format(format_name)
    report = ExportReport(format=fmt.name)
    chunks = fmt.export(video, annotations, report)

    def complete() -> Iterator[bytes]:
        yield from chunks
        report.complete = True

    stem = video.filename.rsplit(".", 1)[0] or video.id
    return ExportResult(fmt.media_type, stem + fmt.extension, complete(), report)


def parse_annotations(
    format_name: str,
    source: Source,
    video: VideoInfo,
    *,
    filename: str | None = None,
    limits: ImportLimits = DEFAULT_LIMITS,
) -> ImportResult:
    """Reads and validates a whole upload; AnnotationImportError lists what refused it."""
    fmt = get_format(format_name)
    return fmt.parse(source, video, source_label(source, filename), limits)
