"""Render a demo scenario as a small MP4: one coloured box per visible VRU on a grey road.

Frames are built with numpy and encoded by :func:`encode_frames`; a 12 s clip at 160x120 takes a
fraction of a second.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from central.demo.scenario import DemoScenario
from central.demo.synthetic_video import encode_frames
from protocol import VruType

__all__ = ["render_demo_video"]

logger = logging.getLogger(__name__)

_COLOURS: dict[VruType, tuple[int, int, int]] = {
    VruType.PEDESTRIAN: (230, 60, 60),
    VruType.CYCLIST: (60, 200, 80),
    VruType.MOTORCYCLIST: (60, 110, 230),
    VruType.WHEELCHAIR_USER: (230, 200, 40),
    VruType.SCOOTER_RIDER: (200, 70, 220),
}
_BACKGROUND = (96, 96, 96)


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
    """Write the scenario's video to ``path`` (an ``.mp4``) and return the path."""
    frames = (_frame_pixels(scenario, index) for index in range(scenario.frame_count))
    encode_frames(path, frames, fps=scenario.fps, width=scenario.width, height=scenario.height)
    logger.info("rendered %d frames to %s", scenario.frame_count, path)
    return path
