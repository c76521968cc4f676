"""The rules a ground-truth annotation must meet against its video: pure functions, no database.

Frame and time: frame ``n`` is shown at ``n / fps`` seconds. Given only one of frame number and
timestamp, the other is derived (a timestamp maps to the nearest frame); given both, the timestamp
must lie within half a frame of the frame's own time, so a timestamp rounded to the millisecond
still agrees with its frame. A box is in pixels, 0-based: ``x, y >= 0``, ``width, height > 0``,
and ``x + width <= frame width`` (likewise in y) when the video's size is known.

Each check returns problems as ``(field path, message)`` pairs instead of raising, so a bulk
request can report every bad row at once. Imports and exports fit boxes to the frame by the same
rule (:func:`fit_to_frame`), and the dataset quality check counts boxes outside it with the same
slack: :func:`inside_frame` and :data:`EDGE_SLACK` are the one home of "inside the frame".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from central.formats.model import BoundingBox

__all__ = [
    "EDGE_SLACK",
    "FieldProblem",
    "Placement",
    "VideoGeometry",
    "box_text",
    "check_box",
    "fit_to_frame",
    "inside_frame",
    "is_finite",
    "place_in_video",
]

FieldProblem = tuple[tuple[str | int, ...], str]
"""Where (a path of field names and list indexes) and what is wrong."""

EDGE_SLACK = 1e-6
"""Float pixels: a box ending exactly on the frame edge must not fail by rounding."""


@dataclass(frozen=True, slots=True)
class VideoGeometry:
    """What the rules need to know about a video; ``None`` where it was not probed."""

    fps: float | None
    frame_count: int | None
    width: int | None
    height: int | None


@dataclass(frozen=True, slots=True)
class Placement:
    frame_number: int
    timestamp: float


def place_in_video(
    frame_number: int | None,
    timestamp: float | None,
    video: VideoGeometry,
) -> tuple[Placement | None, list[FieldProblem]]:
    """Resolve frame number and timestamp against the video's frame rate and length."""
    fps = video.fps if video.fps and video.fps > 0 else None
    if (  # the common case first: a frame alone, inside a video of known rate
        timestamp is None
        and fps is not None
        and frame_number is not None
        and 0 <= frame_number
        and (video.frame_count is None or frame_number < video.frame_count)
    ):
        return Placement(frame_number, frame_number / fps), []
    if frame_number is None and timestamp is None:
        return None, [(("frameNumber",), "Give frameNumber, timestamp or both.")]
    if frame_number is not None and frame_number < 0:
        return None, [(("frameNumber",), "Must be 0 or more.")]
    if timestamp is not None and not (math.isfinite(timestamp) and timestamp >= 0):
        return None, [(("timestamp",), "Must be a finite number of seconds, 0 or more.")]

    frame_field = "frameNumber"
    if frame_number is None:
        assert timestamp is not None
        frame_field = "timestamp"
        if fps is None:
            return None, [(("frameNumber",), "Required: the video's frame rate is unknown.")]
        frame_number = round(timestamp * fps)
    elif timestamp is None:
        if fps is None:
            return None, [(("timestamp",), "Required: the video's frame rate is unknown.")]
        timestamp = frame_number / fps
    elif fps is not None and abs(timestamp - frame_number / fps) > 0.5 / fps + EDGE_SLACK:
        nearest = round(timestamp * fps)
        message = f"Timestamp {timestamp} s is frame {nearest} at {fps:g} fps, not {frame_number}."
        return None, [(("timestamp",), message)]

    if video.frame_count is not None and frame_number >= video.frame_count:
        message = f"Frame {frame_number} is past the video's last frame ({video.frame_count - 1})."
        return None, [((frame_field,), message)]
    return Placement(frame_number, timestamp), []


def inside_frame(
    x: float,
    y: float,
    width: float,
    height: float,
    frame_width: float | None,
    frame_height: float | None,
) -> bool:
    """The one rule for "this box lies in the frame": finite, with area, from 0 to the frame's
    size (``None``: not known, not checked) give or take :data:`EDGE_SLACK`."""
    # One expression: bulk requests check 100,000 boxes. NaN and infinity fail it, since they
    # make the sum non-finite.
    return (
        math.isfinite(x + y + width + height)
        and x >= 0
        and y >= 0
        and width > 0
        and height > 0
        and (frame_width is None or x + width <= frame_width + EDGE_SLACK)
        and (frame_height is None or y + height <= frame_height + EDGE_SLACK)
    )


def check_box(
    x: float, y: float, width: float, height: float, video: VideoGeometry
) -> list[FieldProblem]:
    """Problems with a box ``x, y, width, height`` in pixels of this video's frames."""
    if (
        # The common case in one expression (bulk requests check 100,000 boxes); NaN and
        # infinity fail it, since they make the sum non-finite.
        inside_frame(x, y, width, height, video.width, video.height)
    ):
        return []
    problems: list[FieldProblem] = []
    for name, value in (("x", x), ("y", y), ("width", width), ("height", height)):
        if not math.isfinite(value):
            problems.append((("boundingBox", name), "Must be a finite number."))
    if problems:
        return problems
    if x < 0:
        problems.append((("boundingBox", "x"), "Must be 0 or more."))
    if y < 0:
        problems.append((("boundingBox", "y"), "Must be 0 or more."))
    if width <= 0:
        problems.append((("boundingBox", "width"), "Must be more than 0."))
    if height <= 0:
        problems.append((("boundingBox", "height"), "Must be more than 0."))
    if video.width is not None and x + width > video.width + EDGE_SLACK:
        message = f"The box ends at x={x + width:g}, past the frame width {video.width}."
        problems.append((("boundingBox", "width"), message))
    if video.height is not None and y + height > video.height + EDGE_SLACK:
        message = f"The box ends at y={y + height:g}, past the frame height {video.height}."
        problems.append((("boundingBox", "height"), message))
    return problems


def fit_to_frame(box: BoundingBox, size: tuple[int, int] | None) -> BoundingBox | str:
    """The box clipped to a ``size`` (width, height) frame, or why nothing of it is left.

    An unchanged box is returned as is; without a size only the area is checked.
    """
    if size is not None and inside_frame(box.x, box.y, box.width, box.height, *size):
        return box  # the common case
    if not is_finite(box):
        return f"box {box_text(box)} is not made of finite numbers"
    if box.width <= 0 or box.height <= 0:
        return f"box {box_text(box)} has no area"
    if size is None:
        return box
    left, top = max(box.x, 0.0), max(box.y, 0.0)
    right, bottom = min(box.right, size[0]), min(box.bottom, size[1])
    if right <= left or bottom <= top:
        return f"box {box_text(box)} lies outside the {size[0]}x{size[1]} frame"
    if (left, top, right, bottom) == (box.x, box.y, box.right, box.bottom):
        return box
    return BoundingBox(left, top, right - left, bottom - top)


def is_finite(box: BoundingBox) -> bool:
    isfinite = math.isfinite
    return isfinite(box.x) and isfinite(box.y) and isfinite(box.width) and isfinite(box.height)


def box_text(box: BoundingBox) -> str:
    return f"[{box.x:g}, {box.y:g}, {box.width:g}, {box.height:g}]"
