"""Write small synthetic videos with PyAV: for demos, tests and benchmarks.

A frame shows a bright square that moves one step per frame over a dark background, so the
frames differ and a player or decoder has something real to show.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

__all__ = ["write_synthetic_video"]


def write_synthetic_video(
    path: Path,
    *,
    frame_count: int = 5,
    fps: int = 10,
    width: int = 64,
    height: int = 48,
    container_format: str = "mp4",
    codec: str = "mpeg4",
) -> Path:
    """Encode ``frame_count`` frames of ``width`` x ``height`` at ``fps`` into ``path``."""
    square = max(2, min(width, height) // 4)
    with av.open(str(path), mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        assert isinstance(stream, av.VideoStream)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        for index in range(frame_count):
            image = np.full((height, width, 3), 16, dtype=np.uint8)
            left = (index * 2) % max(1, width - square)
            image[height // 4 : height // 4 + square, left : left + square] = 235
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
