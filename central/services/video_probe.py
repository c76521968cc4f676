"""Check that a file is a real video and read its metadata with PyAV.

The check is by content, never by file name: FFmpeg must recognise the container, the container
must be one of the video containers we accept (FFmpeg also "plays" text files as ANSI art and
still images as one-frame videos), it must hold a video stream, and its first frame must decode.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import av

from central.services.errors import Unsupported

__all__ = ["VideoMetadata", "probe_video"]

logger = logging.getLogger(__name__)

_CONTAINERS: dict[str, tuple[str, str]] = {
    # FFmpeg demuxer name: (content type, file extension)
    "mov,mp4,m4a,3gp,3g2,mj2": ("video/mp4", ".mp4"),
    "matroska,webm": ("video/x-matroska", ".mkv"),
    "avi": ("video/x-msvideo", ".avi"),
    "mpegts": ("video/mp2t", ".ts"),
    "mpeg": ("video/mpeg", ".mpg"),
    "ogg": ("video/ogg", ".ogv"),
    "flv": ("video/x-flv", ".flv"),
    "asf": ("video/x-ms-asf", ".wmv"),
}
_WEBM_CODECS = frozenset({"vp8", "vp9", "av1"})
_QUICKTIME_BRAND = "qt"


@dataclass(frozen=True, slots=True)
class VideoMetadata:
    content_type: str
    extension: str
    """Chosen from the probed container, so a stored name never depends on the uploaded one."""
    duration_s: float | None
    fps: float | None
    frame_count: int | None
    width: int
    height: int
    codec: str


def probe_video(path: Path) -> VideoMetadata:
    """Read the metadata of the video at ``path``; raise :class:`Unsupported` if it is none."""
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            return _read_metadata(container)
    except av.FFmpegError as exc:
        logger.info("Rejected an upload that FFmpeg cannot read: %s", exc)
        raise Unsupported("The file is not a readable video.") from exc


def _read_metadata(container: av.container.InputContainer) -> VideoMetadata:
    format_name = container.format.name
    if format_name not in _CONTAINERS:
        raise Unsupported(f"The file is not a supported video container (found {format_name!r}).")
    if not container.streams.video:
        raise Unsupported("The file holds no video stream.")
    stream = container.streams.video[0]
    if next(container.decode(stream), None) is None:
        raise Unsupported("The video stream holds no decodable frame.")

    codec = stream.codec_context.name
    content_type, extension = _content_type(container, codec)
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else None
    duration_s = _duration_s(container, stream)
    frame_count = stream.frames or None
    if frame_count is None:
        frame_count = _count_frames(container, stream)
    if duration_s is None and frame_count and fps:
        duration_s = frame_count / fps
    return VideoMetadata(
        content_type=content_type,
        extension=extension,
        duration_s=duration_s,
        fps=fps,
        frame_count=frame_count,
        width=stream.codec_context.width,
        height=stream.codec_context.height,
        codec=codec,
    )


def _content_type(container: av.container.InputContainer, codec: str) -> tuple[str, str]:
    format_name = container.format.name
    if format_name == "matroska,webm" and codec in _WEBM_CODECS:
        return "video/webm", ".webm"
    if format_name.startswith("mov,") and container.metadata.get("major_brand", "").strip() == (
        _QUICKTIME_BRAND
    ):
        return "video/quicktime", ".mov"
    return _CONTAINERS[format_name]


def _duration_s(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _count_frames(container: av.container.InputContainer, stream: av.VideoStream) -> int | None:
    """Count the video packets (one per frame) when the container does not state the count."""
    container.seek(0, stream=stream)
    count = sum(1 for packet in container.demux(stream) if packet.size > 0)
    return count or None
