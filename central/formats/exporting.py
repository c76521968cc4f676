"""Helpers shared by the exporters: frame range, clipping, grouping by frame.

Exporters take annotations as an iterable (a database cursor, say) and never hold them all.
YOLO and Pascal VOC write one file per frame, so they need annotations ordered by frame number
(the database service orders them); JSON and COCO take any order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import orjson

from central.formats.errors import ExportError
from central.formats.model import Annotation, BoundingBox, VideoInfo
from central.formats.report import Action, ExportReport
from central.formats.rules import box_text, fit_to_frame

__all__ = [
    "REPORT_ENTRY",
    "describe",
    "frames_with_annotations",
    "report_entry",
    "require_size",
    "usable_box",
]

#: name of the report inside exported archives
REPORT_ENTRY = "export_report.json"


def report_entry(report: ExportReport) -> tuple[str, bytes]:
    """The archive entry carrying the report; build it after every other entry."""
    return REPORT_ENTRY, orjson.dumps(report.summary(), option=orjson.OPT_INDENT_2)


def describe(annotation: Annotation) -> str:
    """How report entries name an annotation."""
    return (
        f"annotation {annotation.id} (track {annotation.detection_id}, "
        f"frame {annotation.frame_number})"
    )


def require_size(video: VideoInfo, format_label: str) -> tuple[int, int]:
    size = video.size
    if size is None:
        raise ExportError(
            f"{format_label} needs the video's width and height, which are unknown for "
            f"video {video.id} ({video.filename})"
        )
    return size


def usable_box(
    annotation: Annotation, video: VideoInfo, report: ExportReport
) -> BoundingBox | None:
    """The annotation's box clipped to the frame, or None (reported) when nothing is left."""
    frame, frame_count = annotation.frame_number, video.frame_count
    if frame < 0 or (frame_count is not None and frame >= frame_count):
        report.record(
            Action.DROPPED, describe(annotation), f"frame {frame} is outside the video's frames"
        )
        return None
    box = annotation.bounding_box
    fitted = fit_to_frame(box, video.size)
    if isinstance(fitted, str):
        report.record(Action.DROPPED, describe(annotation), fitted)
        return None
    if fitted is not box:
        report.record(
            Action.CLIPPED,
            describe(annotation),
            f"box {box_text(box)} clipped to {box_text(fitted)} to fit the frame",
        )
    return fitted


def frames_with_annotations(
    video: VideoInfo, annotations: Iterable[Annotation], report: ExportReport
) -> Iterator[tuple[int, list[tuple[Annotation, BoundingBox]]]]:
    """Every frame of the video in order, each with its usable (annotation, clipped box) pairs.

    Frames without annotations come with an empty list. When the frame count is unknown the
    frames run up to the last annotated one (reported).
    """
    current = 0
    pending: list[tuple[Annotation, BoundingBox]] = []
    last_seen = -1
    for annotation in annotations:
        frame = annotation.frame_number
        if frame < last_seen:
            raise ExportError(
                f"annotations must come ordered by frame number: frame {frame} after {last_seen}"
            )
        last_seen = frame
        box = usable_box(annotation, video, report)
        if box is None:
            continue
        while current < frame:
            yield current, pending
            pending = []
            current += 1
        pending.append((annotation, box))
    end = video.frame_count
    if end is None:
        end = current + 1 if pending else 0
        report.warn("the video's frame count is unknown: frames end at the last annotated one")
    while current < end:
        yield current, pending
        pending = []
        current += 1
