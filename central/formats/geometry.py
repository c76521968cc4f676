"""Fitting boxes to the frame, the same way for exports and imports."""

from __future__ import annotations

import math

from central.formats.model import BoundingBox

__all__ = ["box_text", "fit_to_frame", "is_finite"]


def fit_to_frame(box: BoundingBox, size: tuple[int, int] | None) -> BoundingBox | str:
    """The box clipped to a ``size`` (width, height) frame, or why nothing of it is left.

    An unchanged box is returned as is; without a size only the area is checked.
    """
    x, y, width, height = box.x, box.y, box.width, box.height
    if (
        size is not None
        and x >= 0.0
        and y >= 0.0
        and width > 0.0
        and height > 0.0
        and x + width <= size[0]
        and y + height <= size[1]
    ):
        return box  # the common case, and never true for NaN or infinity
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
