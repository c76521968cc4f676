"""Ground-truth annotation converters: our JSON, COCO, YOLO (Ultralytics), Pascal VOC and
MOTChallenge.

Pure functions over :class:`VideoInfo` and :class:`Annotation`; no database, no web code. A
service calls::

    result = export_annotations("coco", video, annotations)   # annotations: any iterable
    for chunk in result.chunks: ...                           # streamed; report final after

    imported = parse_annotations("yolo", upload_path, video)  # raises AnnotationImportError
    imported.rows, imported.report                            # rows keyed by .key

YOLO and Pascal VOC exports need the annotations ordered by frame number.
"""

from __future__ import annotations

from central.formats.collector import ImportResult
from central.formats.errors import (
    AnnotationImportError,
    ExportError,
    FormatError,
    UnknownFormatError,
)
from central.formats.limits import DEFAULT_LIMITS, ImportLimits
from central.formats.model import Annotation, AnnotationRow, BoundingBox, VideoInfo
from central.formats.registry import (
    FORMATS,
    AnnotationFormat,
    ExportResult,
    export_annotations,
    get_format,
    parse_annotations,
)
from central.formats.report import ExportReport, ImportReport, Issue, Location

__all__ = [
    "DEFAULT_LIMITS",
    "FORMATS",
    "Annotation",
    "AnnotationFormat",
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
