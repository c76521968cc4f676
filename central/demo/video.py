"""Render a demo scenario as a small video: one coloured box per visible VRU on a grey road.

Frames are built with numpy and encoded by :func:`encode_frames`; a 12 s clip at 160x120 takes a
fraction of a second. The clip must play in the review page's ``<video>`` element (issue #11):
Debian's Chromium has no proprietary codecs, so VP9 in WebM comes first, H.264 in MP4 (which other
browsers play) second, and MPEG-4 Part 2, which every FFmpeg build has but no browser decodes,
only when neither encoder is in this PyAV build.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from central.demo.scenario import DemoScenario
from central.demo.synthetic_video import encode_frames
from protocol import VruType

__all__ = ["DemoEncoding", "demo_encoding", "render_demo_video"]

logger = logging.getLogger(__name__)

_COLOURS: dict[VruType, tuple[int, int, int]] = {
    VruType.PEDESTRIAN: (230, 60, 60),
    VruType.CYCLIST: (60, 200, 80),
    VruType.MOTORCYCLIST: (60, 110, 230),
    VruType.WHEELCHAIR_USER: (230, 200, 40),
    VruType.SCOOTER_RIDER: (200, 70, 220),
}
_BACKGROUND = (96, 96, 96)


@dataclass(frozen=True, slots=True)
class DemoEncoding:
    codec: str
    container_format: str
    suffix: str
    options: dict[str, str] = field(default_factory=dict)


_ENCODINGS = (
    # Constant quality, and libvpx's fastest settings: the clip is tiny and flat.
    DemoEncoding("libvpx-vp9", "webm", ".webm", {"crf": "32", "b:v": "0", "deadline": "realtime"}),
    DemoEncoding("libx264", "mp4", ".mp4", {"crf": "23", "preset": "veryfast"}),
    DemoEncoding("mpeg4", "mp4", ".mp4"),
)


def demo_encoding() -> DemoEncoding:
    """The first of VP9/WebM, H.264/MP4, MPEG-4/MP4 whose encoder this PyAV build has."""
    for encoding in _ENCODINGS:
        if encoding.codec in av.codecs_available:
            return encoding
    return _ENCODINGS[-1]


def _frame_pixels(scenario: DemoScenario, frame: int) -> np.ndarray:
    image = np.empty((scenario.height, scenario.width, 3), dtype=np.uint8)
    image[:] = _BACKGROUND
    for track in scenario.tracks:
        if not track.first_frame <= frame <= track.last_frame:
            continue
        x, y, w, h = track.box_at(frame)
        x0, y0 = max(round(x), 0), max(round(y), 0)
        x1 = min(round(x + w), scenario.width)
        y1 = min(round(y + h), scenario.height)
        image[y0:y1, x0:x1] = _COLOURS[track.vru_type]
    return image


def render_demo_video(scenario: DemoScenario, path: Path) -> Path:
    """Write the scenario's video next to ``path``, its suffix replaced by the container's
    (``.webm`` or ``.mp4``, see :func:`demo_encoding`); return the path written."""
    encoding = demo_encoding()
    if encoding.codec == "mpeg4":
        logger.warning("no VP9 or H.264 encoder in this PyAV build: browsers cannot play the clip")
    path = path.with_suffix(encoding.suffix)
    frames = (_frame_pixels(scenario, index) for index in range(scenario.frame_count))
    encode_frames(
        path,
        frames,
        fps=scenario.fps,
        width=scenario.width,
        height=scenario.height,
        container_format=encoding.container_format,
        codec=encoding.codec,
        options=encoding.options,
    )
    logger.info("rendered %d frames (%s) to %s", scenario.frame_count, encoding.codec, path)
    return path
