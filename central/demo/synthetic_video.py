"""Write small synthetic videos with PyAV: for demos, tests and benchmarks.

Frames are numpy RGB arrays encoded with MPEG-4 Part 2 by default, which every FFmpeg build has,
so a clip needs no codec beyond the wheel's. :func:`write_synthetic_video` draws a bright square
that moves one step per frame over a dark background, so the frames differ and a player or
decoder has something real to show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray

__all__ = ["encode_frames", "write_synthetic_video"]


def encode_frames(
    path: Path,
    frames: Iterable[NDArray[np.uint8]],
    *,
    fps: float,
    width: int,
    height: int,
    container_format: str = "mp4",
    codec: str = "mpeg4",
    options: Mapping[str, str] | None = None,
) -> Path:
    """Encode ``height`` x ``width`` x 3 RGB frames at ``fps`` into ``path``; return the path.

    ``options`` are the encoder's own (FFmpeg ``-x`` options such as ``{"crf": "30"}``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        assert isinstance(stream, av.VideoStream)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        stream.options = dict(options or {})
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    return path


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
    """Encode ``frame_count`` frames of a moving square into ``path``."""
    square = max(2, min(width, height) // 4)

    def frame(index: int) -> NDArray[np.uint8]:
        image = np.full((height, width, 3), 16, dtype=np.uint8)
        left = (index * 2) % max(1, width - square)
        image[height // 4 : height // 4 + square, left : left + square] = 235
        return image

    return encode_frames(
        path,
        (frame(index) for index in range(frame_count)),
        fps=fps,
        width=width,
        height=height,
        container_format=container_format,
        codec=codec,
    )
