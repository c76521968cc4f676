"""Pascal VOC as a zip archive of one XML per frame.

Export: ``Annotations/frame_{index:06d}.xml`` for every frame of the video (objects or not),
``ImageSets/Main/default.txt`` listing them and ``labelmap.txt`` naming the classes (CVAT and
datumaro need it for classes VOC does not know). Corners are integer, 1-based and inclusive, as
in the VOC devkit: a box at x = 0 with width 10 covers pixels 1..10 (datumaro reads ``xmin`` as
a 0-based x, so it sees such boxes one pixel right of where they are). Each object has
``truncated``, ``occluded`` and ``difficult``, and the track id and the validated flag under
``attributes`` as CVAT writes them. Rounding to whole pixels moves an edge by at most half a
pixel.

Import: XML parsed with defusedxml (no DTD, no entities); the frame comes from ``filename`` or
else the XML's own name; objects of a class that is no VRU type are dropped (reported).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from central.formats.categories import VRU_TYPES, category_from_name
from central.formats.collector import FoundBox, ImportResult, RowCollector
from central.formats.exporting import (
    describe,
    frames_with_annotations,
    report_entry,
    require_size,
)
from central.formats.frames import frame_file_name, frame_stem, parse_frame_index
from central.formats.limits import ImportLimits
from central.formats.model import Annotation, BoundingBox, VideoInfo
from central.formats.report import Action, ExportReport, Location
from central.formats.safe_zip import SafeZip
from central.formats.source import Source
from central.formats.streaming import stream_zip
from central.formats.values import parse_flag

__all__ = ["export_pascal_voc", "parse_pascal_voc"]

_FLAGS = ("truncated", "occluded", "difficult")
#: CVAT's and datumaro's list of the classes, without which they refuse non-VOC class names
_LABELMAP = (
    "# label:color_rgb:parts:actions\n" + "".join(f"{vru.value}:::\n" for vru in VRU_TYPES)
).encode()
_CORNERS = ("xmin", "ymin", "xmax", "ymax")


def export_pascal_voc(
    video: VideoInfo, annotations: Iterable[Annotation], report: ExportReport
) -> Iterator[bytes]:
    size = require_size(video, "Pascal VOC")
    return stream_zip(_voc_entries(video, size, annotations, report))


def _voc_entries(
    video: VideoInfo,
    size: tuple[int, int],
    annotations: Iterable[Annotation],
    report: ExportReport,
) -> Iterator[tuple[str, bytes]]:
    head = (
        "  <source><database>{}</database></source>\n"
        "  <size><width>{}</width><height>{}</height><depth>3</depth></size>\n"
        "  <segmented>0</segmented>\n"
    ).format(escape(video.filename), *size)
    escaped_tracks: dict[str, str] = {}
    frames = fractional = 0
    for frame, boxes in frames_with_annotations(video, annotations, report):
        parts = [
            (
                "<annotation>\n  <folder>JPEGImages</folder>\n"
                f"  <filename>{frame_file_name(frame)}</filename>\n"
            ),
            head,
        ]
        for annotation, box in boxes:
            corners = _corners(box, size)
            if corners is None:
                report.record(Action.DROPPED, describe(annotation), "narrower than one pixel")
                continue
            xmin, ymin, xmax, ymax = corners
            if xmin - 1 != box.x or ymin - 1 != box.y or xmax != box.right or ymax != box.bottom:
                fractional += 1
            if annotation.notes:
                report.not_carried("notes")
            if annotation.annotator:
                report.not_carried("annotator")
            track = escaped_tracks.get(annotation.detection_id)
            if track is None:
                track = escaped_tracks[annotation.detection_id] = escape(annotation.detection_id)
            parts.append(_object_xml(annotation, corners, track))
        report.annotations += len(parts) - 2  # the two head parts are not objects
        parts.append("</annotation>\n")
        frames += 1
        yield f"Annotations/{frame_stem(frame)}.xml", "".join(parts).encode()
    report.frames = frames
    if fractional:
        report.not_represented["fractional pixels"] = fractional
    image_set = "".join(f"{frame_stem(index)}\n" for index in range(frames))
    yield "ImageSets/Main/default.txt", image_set.encode()
    yield "labelmap.txt", _LABELMAP
    yield report_entry(report)


def _corners(box: BoundingBox, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """1-based inclusive integer corners of a box already clipped to the frame (so x, y >= 0).

    Edges are rounded half up (not to even), so a box at least one pixel wide keeps a pixel;
    ``int(v + 0.5)`` is that rounding for the non-negative values of a clipped box.
    """
    xmin, ymin = int(box.x + 0.5) + 1, int(box.y + 0.5) + 1
    xmax, ymax = int(box.x + box.width + 0.5), int(box.y + box.height + 0.5)
    xmax, ymax = min(xmax, size[0]), min(ymax, size[1])
    if xmax < xmin or ymax < ymin:
        return None
    return xmin, ymin, xmax, ymax


def _box_of(corners: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The 0-based pixel box that 1-based inclusive corners cover."""
    xmin, ymin, xmax, ymax = corners
    return (xmin - 1.0, ymin - 1.0, xmax - xmin + 1.0, ymax - ymin + 1.0)


def _object_xml(annotation: Annotation, corners: tuple[int, int, int, int], track: str) -> str:
    xmin, ymin, xmax, ymax = corners
    return (
        f"  <object>\n    <name>{annotation.vru_type.value}</name>\n"
        "    <pose>Unspecified</pose>\n"
        f"    <truncated>{annotation.truncated:d}</truncated>\n"
        f"    <occluded>{annotation.occluded:d}</occluded>\n"
        f"    <difficult>{annotation.difficult:d}</difficult>\n"
        f"    <bndbox>\n      <xmin>{xmin}</xmin>\n      <ymin>{ymin}</ymin>\n"
        f"      <xmax>{xmax}</xmax>\n      <ymax>{ymax}</ymax>\n    </bndbox>\n"
        "    <attributes>\n"
        f"      <attribute><name>track_id</name><value>{track}</value></attribute>\n"
        "      <attribute><name>validated</name><value>"
        f"{'true' if annotation.validated else 'false'}</value></attribute>\n"
        "    </attributes>\n  </object>\n"
    )


def parse_pascal_voc(
    source: Source, video: VideoInfo, label: str, limits: ImportLimits
) -> ImportResult:
    collector = RowCollector(video, label, "pascal_voc", limits)
    with SafeZip(source, label, limits) as archive:
        xml_files = [info for info in archive.files if info.filename.lower().endswith(".xml")]
        if not xml_files:
            collector.issue(Location(label), "the archive holds no XML annotation files")
        frames_seen: dict[int, str] = {}
        for info in xml_files:
            root = _parse_xml(archive, info, collector)
            if root is not None:
                _read_annotation(root, info.filename, video, frames_seen, collector)
    return collector.finish()


def _parse_xml(archive: SafeZip, info: zipfile.ZipInfo, collector: RowCollector) -> Element | None:
    data = archive.read(info)
    try:
        root: Element = SafeElementTree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        collector.issue(Location(info.filename), f"refused: {exc}")
        return None
    except ParseError as exc:
        collector.issue(Location(info.filename, line=exc.position[0]), f"not valid XML: {exc}")
        return None
    if root.tag != "annotation":
        collector.issue(
            Location(info.filename, element=root.tag), "the root element must be <annotation>"
        )
        return None
    return root


def _read_annotation(
    root: Element,
    file_name: str,
    video: VideoInfo,
    frames_seen: dict[int, str],
    collector: RowCollector,
) -> None:
    image_name = (root.findtext("filename") or "").strip()
    frame = parse_frame_index(image_name) if image_name else None
    if frame is None:
        frame = parse_frame_index(PurePosixPath(file_name).name)
    if frame is None:
        collector.issue(
            Location(file_name, element="annotation/filename"),
            "cannot tell the frame: name it frame_000123.jpg or 000123.jpg",
        )
        return
    if frame in frames_seen:
        collector.issue(Location(file_name), f"frame {frame} also has {frames_seen[frame]}")
        return
    frames_seen[frame] = file_name
    _check_size(root, file_name, video, collector)
    for index, obj in enumerate(root.findall("object"), start=1):
        box = _read_object(obj, Location(file_name, element=f"object[{index}]"), frame, collector)
        if box is not None:
            collector.add(box)


def _check_size(root: Element, file_name: str, video: VideoInfo, collector: RowCollector) -> None:
    size = video.size
    width, height = root.findtext("size/width"), root.findtext("size/height")
    if size is None or width is None or height is None:
        return
    try:
        declared = (int(float(width)), int(float(height)))
    except ValueError:
        collector.issue(Location(file_name, element="annotation/size"), "not integers")
        return
    if declared != (0, 0) and declared != size:
        collector.issue(
            Location(file_name, element="annotation/size"),
            f"size {declared[0]}x{declared[1]} differs from the video's {size[0]}x{size[1]}",
        )


def _read_object(
    obj: Element, where: Location, frame: int, collector: RowCollector
) -> FoundBox | None:
    element = where.element

    def bad(path: str, message: str) -> None:
        collector.issue(Location(where.file, element=f"{element}/{path}"), message)

    name = (obj.findtext("name") or "").strip()
    if not name:
        bad("name", "missing")
        return None
    corners = []
    for corner in _CORNERS:
        text = obj.findtext(f"bndbox/{corner}")
        try:
            corners.append(float(text))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            bad(f"bndbox/{corner}", "missing or not a number")
            return None
    attributes = _attributes(obj)
    flags: dict[str, bool] = {}
    for flag_name in (*_FLAGS, "validated"):
        text = obj.findtext(flag_name)
        value = text if text is not None else attributes.get(flag_name, "0")
        flag = parse_flag(value)
        if flag is None:
            bad(flag_name, f"must be 0 or 1, not {value!r}")
            return None
        flags[flag_name] = flag
    vru_type = category_from_name(name)
    if vru_type is None:
        collector.drop_foreign(where, name)
        return None
    x, y, width, height = _box_of(tuple(corners))  # type: ignore[arg-type]
    return FoundBox(
        location=where,
        frame_number=frame,
        vru_type=vru_type,
        box=BoundingBox(x, y, width, height),
        detection_id=attributes.get("track_id"),
        occluded=flags["occluded"],
        truncated=flags["truncated"],
        difficult=flags["difficult"],
        validated=flags["validated"],
    )


def _attributes(obj: Element) -> dict[str, str]:
    """CVAT's ``<attributes><attribute><name/><value/></attribute></attributes>`` pairs."""
    pairs = {}
    for attribute in obj.iterfind("attributes/attribute"):
        name = attribute.findtext("name")
        if name:
            pairs[name.strip()] = (attribute.findtext("value") or "").strip()
    return pairs
