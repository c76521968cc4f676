"""YOLO in the Ultralytics layout, as a zip archive.

Export: ``data.yaml`` (``train``/``val`` pointing at ``images``, ``names`` mapping class index to
name, from 0), an ``images/`` folder for the frames, and ``labels/frame_{index:06d}.txt`` for
every frame of the video, empty when the frame has no object. Each row is
``class cx cy w h`` normalised to [0, 1] with 6 decimals, the box clipped to the frame first.
YOLO has no column for the track id, the flags, notes or annotator: the report counts them.

Import: class names come from ``data.yaml`` (``names`` as a list or a mapping), or from
``classes.txt``/``obj.names``; label files are the ``.txt`` files under a ``labels`` folder (or
anywhere, when there is none). Track ids are generated, one per box.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from typing import Any

import yaml

from central.formats.categories import VRU_TYPES, category_from_name, yolo_class_index
from central.formats.collector import FoundBox, ImportResult, RowCollector
from central.formats.exporting import (
    frames_with_annotations,
    report_entry,
    require_size,
)
from central.formats.frames import frame_stem, parse_frame_index
from central.formats.limits import ImportLimits
from central.formats.model import Annotation, BoundingBox, VideoInfo
from central.formats.report import ExportReport, Location
from central.formats.safe_zip import SafeZip
from central.formats.source import Source
from central.formats.streaming import stream_zip
from protocol import VruType

__all__ = ["export_yolo", "parse_yolo"]

_DATA_YAML_NAMES = ("data.yaml", "data.yml")
_CLASS_LIST_NAMES = ("classes.txt", "obj.names")
_NOT_CARRIED_FLAGS = ("occluded", "truncated", "difficult", "validated")
#: a class list is a few hundred bytes; YAML parsing is slow enough to bound it tightly
_MAX_DATA_YAML_BYTES = 1024**2
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def export_yolo(
    video: VideoInfo, annotations: Iterable[Annotation], report: ExportReport
) -> Iterator[bytes]:
    size = require_size(video, "YOLO")
    report.warn("frame images are not included: put them in images/ as frame_000000.jpg, ...")
    return stream_zip(_yolo_entries(video, size, annotations, report))


def _data_yaml(video: VideoInfo) -> bytes:
    config = {
        "train": "images",
        "val": "images",
        "nc": len(VRU_TYPES),
        "names": {yolo_class_index(vru): vru.value for vru in VRU_TYPES},
    }
    comment = f"# Ground truth of {video.filename}; frame images go in images/\n"
    return (comment + str(yaml.safe_dump(config, sort_keys=False))).encode()


def _yolo_entries(
    video: VideoInfo,
    size: tuple[int, int],
    annotations: Iterable[Annotation],
    report: ExportReport,
) -> Iterator[tuple[str, bytes]]:
    yield "data.yaml", _data_yaml(video)
    yield "images/", b""
    width, height = size
    for frame, boxes in frames_with_annotations(video, annotations, report):
        rows = []
        for annotation, box in boxes:
            _count_not_carried(annotation, report)
            cx = (box.x + box.width / 2) / width
            cy = (box.y + box.height / 2) / height
            rows.append(
                f"{yolo_class_index(annotation.vru_type)} {cx:.6f} {cy:.6f} "
                f"{box.width / width:.6f} {box.height / height:.6f}\n"
            )
        report.annotations += len(rows)
        report.frames += 1
        yield f"labels/{frame_stem(frame)}.txt", "".join(rows).encode()
    yield report_entry(report)


def _count_not_carried(annotation: Annotation, report: ExportReport) -> None:
    report.not_carried("track_id")
    for name in _NOT_CARRIED_FLAGS:
        if getattr(annotation, name):
            report.not_carried(name)
    for name in ("notes", "annotator"):
        if getattr(annotation, name):
            report.not_carried(name)


def parse_yolo(source: Source, video: VideoInfo, label: str, limits: ImportLimits) -> ImportResult:
    collector = RowCollector(video, label, "yolo", limits)
    size = video.size
    if size is None:
        collector.issue(
            Location(label), "the video's width and height are unknown, so YOLO's normalised "
            "boxes cannot be converted to pixels"
        )
        return collector.finish()
    with SafeZip(source, label, limits) as archive:
        names = _class_names(archive, collector)
        if names is not None:
            label_files = _label_files(archive.files)
            if not label_files:
                collector.issue(Location(label), "the archive holds no label files (labels/*.txt)")
            frames_seen: dict[int, str] = {}
            for info in label_files:
                _read_label_file(archive, info, names, size, frames_seen, collector)
    return collector.finish()


def _class_names(archive: SafeZip, collector: RowCollector) -> dict[int, str] | None:
    """Class index -> name, from data.yaml or a plain class list; None (an issue) if neither."""
    by_name = {PurePosixPath(info.filename).name.lower(): info for info in archive.files}
    candidates = sorted(
        (info for info in archive.files if PurePosixPath(info.filename).name in _DATA_YAML_NAMES),
        key=lambda info: info.filename.count("/"),
    )
    if candidates:
        return _names_from_yaml(archive, candidates[0], collector)
    for name in _CLASS_LIST_NAMES:
        if name in by_name:
            text = _decode(archive, by_name[name], collector)
            if text is None:
                return None
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            return dict(enumerate(lines))
    collector.issue(
        Location(archive.label), "no data.yaml (or classes.txt) naming the classes in the archive"
    )
    return None


def _names_from_yaml(
    archive: SafeZip, info: zipfile.ZipInfo, collector: RowCollector
) -> dict[int, str] | None:
    where = Location(archive.label, element=info.filename)
    if info.file_size > _MAX_DATA_YAML_BYTES:
        collector.issue(where, f"larger than {_MAX_DATA_YAML_BYTES} bytes")
        return None
    text = _decode(archive, info, collector)
    if text is None:
        return None
    try:
        config = yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        collector.issue(
            Location(archive.label, line=None if line is None else line + 1, element=info.filename),
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
        )
        return None
    names: Any = config.get("names") if isinstance(config, dict) else None
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return dict(enumerate(names))
    if isinstance(names, dict):
        try:
            mapped = {int(index): name for index, name in names.items()}
        except (TypeError, ValueError):
            mapped = None
        if mapped is not None and all(isinstance(n, str) for n in mapped.values()):
            return mapped
    collector.issue(
        Location(where.file, element=where.element, field="names"),
        "must be a list of class names or a mapping from class index to name",
    )
    return None


def _label_files(files: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
    texts = [
        info
        for info in files
        if info.filename.lower().endswith(".txt")
        and PurePosixPath(info.filename).name.lower() not in _CLASS_LIST_NAMES
    ]
    under_labels = [info for info in texts if "labels" in PurePosixPath(info.filename).parts[:-1]]
    return under_labels or texts


def _decode(archive: SafeZip, info: zipfile.ZipInfo, collector: RowCollector) -> str | None:
    try:
        return archive.read(info).decode("utf-8-sig")
    except UnicodeDecodeError:
        collector.issue(Location(archive.label, element=info.filename), "not UTF-8 text")
        return None


def _read_label_file(
    archive: SafeZip,
    info: zipfile.ZipInfo,
    names: dict[int, str],
    size: tuple[int, int],
    frames_seen: dict[int, str],
    collector: RowCollector,
) -> None:
    file_name = info.filename
    frame = parse_frame_index(file_name)
    if frame is None:
        collector.issue(
            Location(file_name),
            "cannot tell the frame: name it frame_000123.txt or 000123.txt",
        )
        return
    if frame in frames_seen:
        collector.issue(Location(file_name), f"frame {frame} also has {frames_seen[frame]}")
        return
    frames_seen[frame] = file_name
    text = _decode(archive, info, collector)
    if text is None:
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            box = _read_row(line, Location(file_name, line=number), frame, names, size, collector)
            if box is not None:
                collector.add(box)


def _read_row(
    line: str,
    where: Location,
    frame: int,
    names: dict[int, str],
    size: tuple[int, int],
    collector: RowCollector,
) -> FoundBox | None:
    tokens = line.split()
    if len(tokens) != 5:
        collector.issue(
            where, f"expected 5 values 'class cx cy w h', found {len(tokens)} (polygons and "
            "scores are not ground-truth boxes)"
        )
        return None
    try:
        class_index = int(tokens[0])
    except ValueError:
        collector.issue(Location(where.file, where.line, field="class"), "not an integer")
        return None
    if class_index not in names:
        collector.issue(
            Location(where.file, where.line, field="class"),
            f"class {class_index} is not in the class names",
        )
        return None
    values = []
    for field_name, token in zip(("cx", "cy", "w", "h"), tokens[1:], strict=True):
        try:
            value = float(token)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            collector.issue(Location(where.file, where.line, field=field_name), "not a number")
            return None
        values.append(value)
    vru_type: VruType | None = category_from_name(names[class_index])
    if vru_type is None:
        collector.drop_foreign(where, names[class_index])
        return None
    cx, cy, w, h = values
    width, height = size
    return FoundBox(
        location=where,
        frame_number=frame,
        vru_type=vru_type,
        box=BoundingBox(
            _pixels((cx - w / 2) * width),
            _pixels((cy - h / 2) * height),
            _pixels(w * width),
            _pixels(h * height),
        ),
    )


def _pixels(value: float) -> float:
    """Pixels without the float noise of denormalising (YOLO's precision is far coarser)."""
    return round(value, 6)
