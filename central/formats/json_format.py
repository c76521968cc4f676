"""Our own JSON: lossless, every field of every annotation, camelCase like the REST API.

    {"format": "vru-annotations", "version": 1,
     "video": {"id", "filename", "width", "height", "fps", "frameCount"},
     "annotations": [{"id", "videoId", "detectionId", "frameNumber", "timestamp", "vruType",
                      "boundingBox": {"x", "y", "width", "height"}, "occluded", "truncated",
                      "difficult", "validated", "notes", "annotator", "createdAt", "updatedAt"}],
     "report": {...}}

The import also takes a bare list of annotations (the REST list response) and snake_case keys.
``id`` and ``videoId`` are ignored on import: the database assigns them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson

from central.formats.categories import category_from_name
from central.formats.collector import FoundBox, ImportResult, RowCollector
from central.formats.limits import ImportLimits
from central.formats.model import Annotation, BoundingBox, VideoInfo
from central.formats.report import ExportReport, Location
from central.formats.source import Source, read_limited
from central.formats.streaming import rechunk
from central.formats.values import parse_flag, parse_track_id
from protocol import VruType

__all__ = ["FORMAT_TAG", "export_json", "parse_json"]

FORMAT_TAG = "vru-annotations"
_FLAGS = ("occluded", "truncated", "difficult", "validated")
_Complain = Callable[[str, str], None]


def export_json(
    video: VideoInfo, annotations: Iterable[Annotation], report: ExportReport
) -> Iterator[bytes]:
    return rechunk(_json_parts(video, annotations, report))


def _json_parts(
    video: VideoInfo, annotations: Iterable[Annotation], report: ExportReport
) -> Iterator[bytes]:
    header = {
        "format": FORMAT_TAG,
        "version": 1,
        "video": {
            "id": video.id,
            "filename": video.filename,
            "width": video.width,
            "height": video.height,
            "fps": video.fps,
            "frameCount": video.frame_count,
        },
    }
    yield orjson.dumps(header)[:-1] + b',"annotations":['
    frames: set[int] = set()
    separator = b"\n"
    for annotation in annotations:
        yield separator + orjson.dumps(_annotation_document(annotation))
        separator = b",\n"
        report.annotations += 1
        frames.add(annotation.frame_number)
    report.frames = len(frames)
    yield b'\n],"report":' + orjson.dumps(report.summary()) + b"}\n"


def _annotation_document(annotation: Annotation) -> dict[str, Any]:
    box = annotation.bounding_box
    return {
        "id": annotation.id,
        "videoId": annotation.video_id,
        "detectionId": annotation.detection_id,
        "frameNumber": annotation.frame_number,
        "timestamp": float(annotation.timestamp),
        "vruType": annotation.vru_type.value,
        "boundingBox": {
            "x": float(box.x),
            "y": float(box.y),
            "width": float(box.width),
            "height": float(box.height),
        },
        "occluded": annotation.occluded,
        "truncated": annotation.truncated,
        "difficult": annotation.difficult,
        "validated": annotation.validated,
        "notes": annotation.notes,
        "annotator": annotation.annotator,
        "createdAt": annotation.created_at,
        "updatedAt": annotation.updated_at,
    }


def parse_json(
    source: Source, video: VideoInfo, label: str, limits: ImportLimits
) -> ImportResult:
    collector = RowCollector(video, label, "json", limits)
    document = load_json_document(source, label, limits, collector)
    if document is not None:
        _check_video_size(document, video, label, collector)
        items = _annotation_list(document, label, collector)
        for index, item in enumerate(items):
            where = Location(label, element=f"annotations[{index}]")
            box = _read_annotation(item, where, collector)
            if box is not None:
                collector.add(box)
    return collector.finish()


def load_json_document(
    source: Source, label: str, limits: ImportLimits, collector: RowCollector
) -> Any:
    """The parsed document, or None with the syntax error recorded as an issue."""
    data = read_limited(source, limits.max_file_bytes, label)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        collector.issue(Location(label, line=exc.lineno), f"not valid JSON: {exc.msg}")
        return None


def _check_video_size(
    document: Any, video: VideoInfo, label: str, collector: RowCollector
) -> None:
    """Pixel boxes only fit a video of the size they were drawn on."""
    source = document.get("video") if isinstance(document, dict) else None
    size = video.size
    if not isinstance(source, dict) or size is None:
        return
    declared = (source.get("width"), source.get("height"))
    if all(isinstance(v, int) and v > 0 for v in declared) and declared != size:
        collector.issue(
            Location(label, field="video"),
            f"boxes were drawn on a {declared[0]}x{declared[1]} video, this one is "
            f"{size[0]}x{size[1]}",
        )


def _annotation_list(document: Any, label: str, collector: RowCollector) -> list[Any]:
    if isinstance(document, list):
        return document
    items = document.get("annotations") if isinstance(document, dict) else None
    if isinstance(items, list):
        return items
    collector.issue(
        Location(label, field="annotations"),
        "expected a list of annotations or an object with an 'annotations' list",
    )
    return []


def _field(item: dict[str, Any], camel: str) -> Any:
    if camel in item:
        return item[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return item.get(snake)


def _read_annotation(item: Any, where: Location, collector: RowCollector) -> FoundBox | None:
    if not isinstance(item, dict):
        collector.issue(where, "an annotation must be an object")
        return None

    problems: list[str] = []

    def bad(field_name: str, message: str) -> None:
        problems.append(field_name)
        collector.issue(Location(where.file, element=where.element, field=field_name), message)

    frame = _field(item, "frameNumber")
    if isinstance(frame, bool) or not isinstance(frame, int):
        bad("frameNumber", "must be an integer")
        frame = None
    vru_type = _vru_type(_field(item, "vruType"))
    if vru_type is None:
        bad("vruType", f"must be one of {', '.join(v.value for v in VruType)}")
    box = _box(_field(item, "boundingBox"))
    if box is None:
        bad("boundingBox", "must be an object with numbers x, y, width and height")
    track = _field(item, "detectionId")
    detection_id = None if track is None else parse_track_id(track)
    if track is not None and detection_id is None:
        bad("detectionId", "must be a string")
    timestamp = _field(item, "timestamp")
    if timestamp is not None and (isinstance(timestamp, bool) or not _is_number(timestamp)):
        bad("timestamp", "must be a number of seconds")
        timestamp = None
    flags: dict[str, bool] = {}
    for name in _FLAGS:
        value = _field(item, name)
        flag = False if value is None else parse_flag(value)
        if flag is None:
            bad(name, "must be true or false")
        flags[name] = bool(flag)
    texts = {name: _optional_text(item, name, bad) for name in ("notes", "annotator")}
    dates = {name: _optional_datetime(item, name, bad) for name in ("createdAt", "updatedAt")}
    if problems or frame is None or vru_type is None or box is None:
        return None
    return FoundBox(
        location=where,
        frame_number=frame,
        vru_type=vru_type,
        box=box,
        detection_id=detection_id,
        timestamp=None if timestamp is None else float(timestamp),
        created_at=dates["createdAt"],
        updated_at=dates["updatedAt"],
        occluded=flags["occluded"],
        truncated=flags["truncated"],
        difficult=flags["difficult"],
        validated=flags["validated"],
        notes=texts["notes"],
        annotator=texts["annotator"],
    )


def _vru_type(value: Any) -> VruType | None:
    return category_from_name(value) if isinstance(value, str) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _box(value: Any) -> BoundingBox | None:
    if isinstance(value, dict):
        value = [value.get("x"), value.get("y"), value.get("width"), value.get("height")]
    if isinstance(value, list) and len(value) == 4 and all(_is_number(v) for v in value):
        return BoundingBox(float(value[0]), float(value[1]), float(value[2]), float(value[3]))
    return None


def _optional_text(item: dict[str, Any], name: str, bad: _Complain) -> str | None:
    value = _field(item, name)
    if value is None or isinstance(value, str):
        return value
    bad(name, "must be a string or null")
    return None


def _optional_datetime(item: dict[str, Any], name: str, bad: _Complain) -> datetime | None:
    value = _field(item, name)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    bad(name, "must be an ISO 8601 date and time or null")
    return None
