"""COCO detection JSON, with CVAT's ``attributes`` and the CocoVID video fields.

Export: category ids 1..5 (the VRU types), one image per frame of the video (id = frame + 1,
``file_name`` = ``frame_{index:06d}.jpg``, ``video_id``, 0-based ``frame_id``), annotation ids
from 1, ``bbox`` clipped to the frame, ``attributes`` with ``track_id`` and the flags, and an
integer CocoVID ``instance_id`` per track. ``notes`` and ``annotator`` have no place in COCO.

Import: categories mapped by name; an unused category with a foreign name (Roboflow's empty
parent) is ignored and boxes of other foreign categories are dropped (reported). The frame of an
image is its ``frame_id``, else its file name. The track id is ``attributes.track_id``, else
``instance_id``, else generated. ``iscrowd`` regions become ``difficult`` boxes, which matching
ignores as COCO does.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from central.formats.categories import VRU_TYPES, category_from_name, coco_category_id
from central.formats.collector import FoundBox, ImportResult, RowCollector
from central.formats.exporting import usable_box
from central.formats.frames import frame_file_name, parse_frame_index
from central.formats.json_format import load_json_document
from central.formats.limits import ImportLimits
from central.formats.model import Annotation, BoundingBox, VideoInfo
from central.formats.report import ExportReport, Location
from central.formats.source import Source
from central.formats.streaming import rechunk
from central.formats.values import parse_flag, parse_track_id
from protocol import VruType

__all__ = ["export_coco", "parse_coco"]

_VIDEO_ID = 1
_FLAGS = ("occluded", "truncated", "difficult", "validated")


def export_coco(
    video: VideoInfo, annotations: Iterable[Annotation], report: ExportReport
) -> Iterator[bytes]:
    return rechunk(_coco_parts(video, annotations, report))


def _coco_parts(
    video: VideoInfo, annotations: Iterable[Annotation], report: ExportReport
) -> Iterator[bytes]:
    if video.size is None:
        report.warn("video width and height unknown: image sizes are null, boxes not clipped")
    head = {
        "info": {"description": f"Ground truth of {video.filename}", "version": "1.0"},
        "licenses": [],
        "categories": [
            {"id": coco_category_id(vru), "name": vru.value, "supercategory": "vru"}
            for vru in VRU_TYPES
        ],
        "videos": [
            {
                "id": _VIDEO_ID,
                "name": video.filename,
                "width": video.width,
                "height": video.height,
                "fps": video.fps,
                "frame_count": video.frame_count,
            }
        ],
    }
    yield orjson.dumps(head)[:-1]
    if video.frame_count is not None:
        yield from _images(video, video.frame_count, report)
        yield from _annotations(video, annotations, report)
    else:
        report.warn("the video's frame count is unknown: images end at the last annotated frame")
        last_frame = yield from _annotations(video, annotations, report)
        yield from _images(video, last_frame + 1, report)
    yield b',"export_report":' + orjson.dumps(report.summary()) + b"}\n"


def _images(video: VideoInfo, frame_count: int, report: ExportReport) -> Iterator[bytes]:
    yield b',"images":['
    for frame in range(frame_count):
        image = {
            "id": frame + 1,
            "file_name": frame_file_name(frame),
            "width": video.width,
            "height": video.height,
            "video_id": _VIDEO_ID,
            "frame_id": frame,
        }
        yield (b"\n" if frame == 0 else b",\n") + orjson.dumps(image)
    report.frames = frame_count
    yield b"\n]"


def _annotations(
    video: VideoInfo, annotations: Iterable[Annotation], report: ExportReport
) -> Generator[bytes, None, int]:
    """Writes the annotations list; its return value is the last annotated frame (-1 if none)."""
    yield b',"annotations":['
    instance_ids: dict[str, int] = {}
    last_frame = -1
    for annotation in annotations:
        box = usable_box(annotation, video, report)
        if box is None:
            continue
        report.annotations += 1
        instance_id = instance_ids.setdefault(annotation.detection_id, len(instance_ids) + 1)
        last_frame = max(last_frame, annotation.frame_number)
        for name in ("notes", "annotator"):
            if getattr(annotation, name):
                report.not_carried(name)
        document = {
            "id": report.annotations,
            "image_id": annotation.frame_number + 1,
            "category_id": coco_category_id(annotation.vru_type),
            "bbox": [float(box.x), float(box.y), float(box.width), float(box.height)],
            "area": float(box.width * box.height),
            "iscrowd": 0,
            "segmentation": [],
            "instance_id": instance_id,
            "attributes": {
                "track_id": annotation.detection_id,
                "occluded": annotation.occluded,
                "truncated": annotation.truncated,
                "difficult": annotation.difficult,
                "validated": annotation.validated,
            },
        }
        yield (b"\n" if report.annotations == 1 else b",\n") + orjson.dumps(document)
    yield b"\n]"
    return last_frame


@dataclass(frozen=True, slots=True)
class _Category:
    name: str
    vru_type: VruType | None


def parse_coco(source: Source, video: VideoInfo, label: str, limits: ImportLimits) -> ImportResult:
    collector = RowCollector(video, label, "coco", limits)
    document = load_json_document(source, label, limits, collector)
    if document is None:
        return collector.finish()
    if not isinstance(document, dict):
        collector.issue(Location(label), "a COCO file must be a JSON object")
        return collector.finish()
    lists = {}
    for key in ("categories", "images", "annotations"):
        value = document.get(key)
        if not isinstance(value, list):
            collector.issue(Location(label, field=key), "missing, or not a list")
        lists[key] = value if isinstance(value, list) else []
    videos = document.get("videos")
    if isinstance(videos, list) and len(videos) > 1:
        collector.issue(
            Location(label, field="videos"),
            f"the file holds {len(videos)} videos; import one video's annotations at a time",
        )
    categories = _read_categories(lists["categories"], label, collector)
    frames = _read_images(lists["images"], video, label, collector)
    used: set[int] = set()
    for index, item in enumerate(lists["annotations"]):
        box = _read_annotation(item, index, label, categories, frames, used, collector)
        if box is not None:
            collector.add(box)
    for category_id, category in categories.items():
        if category.vru_type is None and category_id not in used:
            collector.report.warn(f"category '{category.name}' has no boxes and was ignored")
    return collector.finish()


def _read_categories(
    items: list[Any], label: str, collector: RowCollector
) -> dict[int, _Category]:
    categories: dict[int, _Category] = {}
    for index, item in enumerate(items):
        where = Location(label, element=f"categories[{index}]")
        if not isinstance(item, dict):
            collector.issue(where, "a category must be an object")
            continue
        category_id, name = item.get("id"), item.get("name")
        if isinstance(category_id, bool) or not isinstance(category_id, int):
            collector.issue(Location(label, element=where.element, field="id"), "not an integer")
        elif not isinstance(name, str):
            collector.issue(Location(label, element=where.element, field="name"), "not a string")
        elif category_id in categories:
            collector.issue(where, f"category id {category_id} appears twice")
        else:
            categories[category_id] = _Category(name, category_from_name(name))
    return categories


def _read_images(
    items: list[Any], video: VideoInfo, label: str, collector: RowCollector
) -> dict[int, int]:
    """Image id -> frame index."""
    frames: dict[int, int] = {}
    image_of_frame: dict[int, int] = {}
    for index, item in enumerate(items):
        element = f"images[{index}]"
        if not isinstance(item, dict):
            collector.issue(Location(label, element=element), "an image must be an object")
            continue
        image_id = item.get("id")
        if isinstance(image_id, bool) or not isinstance(image_id, int):
            collector.issue(Location(label, element=element, field="id"), "not an integer")
            continue
        if image_id in frames:
            collector.issue(Location(label, element=element), f"image id {image_id} appears twice")
            continue
        frame = _image_frame(item)
        if frame is None:
            collector.issue(
                Location(label, element=element, field="file_name"),
                "cannot tell the frame: no integer frame_id and the file name is not "
                "frame_000123.jpg or 000123.jpg",
            )
            continue
        if frame in image_of_frame:
            collector.issue(
                Location(label, element=element),
                f"images {image_of_frame[frame]} and {image_id} both stand for frame {frame}",
            )
            continue
        _check_image_size(item, video, Location(label, element=element), collector)
        frames[image_id] = frame
        image_of_frame[frame] = image_id
    return frames


def _image_frame(image: dict[str, Any]) -> int | None:
    frame_id = image.get("frame_id")
    if isinstance(frame_id, int) and not isinstance(frame_id, bool):
        return frame_id
    file_name = image.get("file_name")
    return parse_frame_index(file_name) if isinstance(file_name, str) else None


def _check_image_size(
    image: dict[str, Any], video: VideoInfo, where: Location, collector: RowCollector
) -> None:
    width, height = image.get("width"), image.get("height")
    size = video.size
    if size is None or not width or not height:
        return  # unknown: some tools write 0 or null
    if (width, height) != size:
        collector.issue(
            where, f"image size {width}x{height} differs from the video's {size[0]}x{size[1]}"
        )


def _read_annotation(
    item: Any,
    index: int,
    label: str,
    categories: dict[int, _Category],
    frames: dict[int, int],
    used: set[int],
    collector: RowCollector,
) -> FoundBox | None:
    element = f"annotations[{index}]"
    if not isinstance(item, dict):
        collector.issue(Location(label, element=element), "an annotation must be an object")
        return None
    if "id" in item:
        element += f" (id {item['id']})"

    problems: list[str] = []

    def bad(field_name: str, message: str) -> None:
        problems.append(field_name)
        collector.issue(Location(label, element=element, field=field_name), message)

    frame = frames.get(item.get("image_id"))  # type: ignore[arg-type]
    if frame is None:
        bad("image_id", f"no image has id {item.get('image_id')!r}")
    category = categories.get(item.get("category_id"))  # type: ignore[arg-type]
    if category is None:
        bad("category_id", f"no category has id {item.get('category_id')!r}")
    bbox = item.get("bbox")
    if not (
        isinstance(bbox, list)
        and len(bbox) == 4
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)
    ):
        bad("bbox", "must be a list of four numbers [x, y, width, height]")
        bbox = None
    attributes = item.get("attributes") or {}
    if not isinstance(attributes, dict):
        bad("attributes", "must be an object")
        attributes = {}
    flags = {}
    for name in _FLAGS:
        flag = parse_flag(attributes.get(name, False))
        if flag is None:
            bad(f"attributes.{name}", "must be true or false")
        flags[name] = bool(flag)
    if item.get("iscrowd") in (1, True):
        flags["difficult"] = True
    track_value = attributes.get("track_id")
    if track_value is None:
        track_value = item.get("instance_id")
    track = None if track_value is None else parse_track_id(track_value)
    if track_value is not None and track is None:
        bad("attributes.track_id", "must be a string or an integer")
    if problems or frame is None or category is None or bbox is None:
        return None
    where = Location(label, element=element)
    used.add(item["category_id"])
    if category.vru_type is None:
        collector.drop_foreign(where, category.name)
        return None
    return FoundBox(
        location=where,
        frame_number=frame,
        vru_type=category.vru_type,
        box=BoundingBox(float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])),
        detection_id=track,
        occluded=flags["occluded"],
        truncated=flags["truncated"],
        difficult=flags["difficult"],
        validated=flags["validated"],
    )

