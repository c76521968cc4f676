"""The formats by name, and the two calls a service makes: export and parse."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from central.formats.coco import export_coco, parse_coco
from central.formats.collector import ImportResult
from central.formats.errors import AnnotationImportError, UnknownFormatError
from central.formats.json_format import export_json, parse_json
from central.formats.limits import DEFAULT_LIMITS, ImportLimits
from central.formats.model import Annotation, VideoInfo
from central.formats.mot import export_mot, parse_mot
from central.formats.pascal_voc import export_pascal_voc, parse_pascal_voc
from central.formats.report import ExportReport
from central.formats.source import Source, source_label
from central.formats.yolo import export_yolo, parse_yolo

__all__ = [
    "FORMATS",
    "AnnotationFormat",
    "ExportResult",
    "export_annotations",
    "get_format",
    "parse_annotations",
]

logger = logging.getLogger(__name__)

Exporter = Callable[[VideoInfo, Iterable[Annotation], ExportReport], Iterator[bytes]]
Parser = Callable[[Source, VideoInfo, str, ImportLimits], ImportResult]

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


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
        AnnotationFormat("mot", "application/zip", ".mot.zip", export_mot, parse_mot),
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
    #: a download name safe for a Content-Disposition header
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
        logger.info(
            "exported %d annotations of video %s as %s (%d clipped, %d dropped)",
            report.annotations, video.id, fmt.name, report.clipped, report.dropped,
        )

    return ExportResult(fmt.media_type, _download_name(video) + fmt.extension, complete(), report)


def _download_name(video: VideoInfo) -> str:
    stem = video.filename.rsplit(".", 1)[0]
    return _UNSAFE_FILENAME.sub("_", stem).strip("._") or "annotations"


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
    label = source_label(source, filename)
    try:
        result = fmt.parse(source, video, label, limits)
    except AnnotationImportError as exc:
        logger.info("refused %s import %s for video %s: %s", fmt.name, label, video.id, exc)
        raise
    logger.info(
        "parsed %s import %s for video %s: %d rows (%d clipped, %d dropped)",
        fmt.name, label, video.id, result.report.imported, result.report.clipped,
        result.report.dropped,
    )
    return result
