"""Frame file naming: exports write ``frame_{index:06d}``, imports also read ``{index:06d}``.

Roboflow renames exported images to ``<stem>_<ext>.rf.<hash>.<ext>``; the suffix is ignored.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

__all__ = ["frame_file_name", "frame_stem", "parse_frame_index"]

_FRAME_STEM = re.compile(r"(?:frame[_-]?)?(\d+)", re.IGNORECASE)
_ROBOFLOW_SUFFIX = re.compile(r"_(?:jpe?g|png|bmp|webp)\.rf\.[0-9a-f]+$", re.IGNORECASE)


def frame_stem(index: int) -> str:
    return f"frame_{index:06d}"


def frame_file_name(index: int, suffix: str = ".jpg") -> str:
    return frame_stem(index) + suffix


def parse_frame_index(path: str) -> int | None:
    """The 0-based frame index a file name stands for, or None if it names no frame."""
    name = PurePosixPath(path.replace("\\", "/")).name
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = _ROBOFLOW_SUFFIX.sub("", stem)
    match = _FRAME_STEM.fullmatch(stem)
    return int(match.group(1)) if match else None
