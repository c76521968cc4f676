"""The content check and metadata probe of uploaded videos, on small videos made with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from central.demo.synthetic_video import write_synthetic_video
from central.services.errors import Unsupported
from central.services.video_probe import probe_video


@pytest.mark.parametrize(
    ("name", "container_format", "codec", "content_type"),
    [
        ("clip.mp4", "mp4", "mpeg4", "video/mp4"),
        ("clip.mp4", "mp4", "libx264", "video/mp4"),
        ("clip.mkv", "matroska", "mpeg4", "video/x-matroska"),
        ("clip.webm", "webm", "libvpx", "video/webm"),
        ("clip.avi", "avi", "mjpeg", "video/x-msvideo"),
        ("clip.ts", "mpegts", "mpeg4", "video/mp2t"),
    ],
)
def test_probe_reads_the_metadata_of_common_containers(
    tmp_path: Path, name: str, container_format: str, codec: str, content_type: str
) -> None:
    path = write_synthetic_video(
        tmp_path / name,
        frame_count=7,
        fps=10,
        width=64,
        height=48,
        container_format=container_format,
        codec=codec,
    )
    metadata = probe_video(path)
    assert metadata.content_type == content_type
    assert metadata.extension == "." + name.split(".")[1]
    assert metadata.fps == 10.0
    assert metadata.frame_count == 7
    assert (metadata.width, metadata.height) == (64, 48)
    assert metadata.duration_s == pytest.approx(0.7, abs=0.01)
    assert metadata.codec in (codec, {"libx264": "h264", "libvpx": "vp8"}.get(codec))


def test_probe_does_not_trust_the_file_name(tmp_path: Path) -> None:
    video = write_synthetic_video(tmp_path / "clip.mp4")
    disguised = video.rename(tmp_path / "notes.txt")
    assert probe_video(disguised).content_type == "video/mp4"


def test_probe_refuses_a_text_file_that_ffmpeg_would_render_as_ansi_art(tmp_path: Path) -> None:
    text = tmp_path / "readme.txt"
    text.write_text("not a video\n" * 50)
    with pytest.raises(Unsupported, match="container"):
        probe_video(text)


def _write_png(path: Path) -> Path:
    with av.open(str(path), mode="w", format="image2") as container:
        stream = container.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 8, 8, "rgb24"
        frame = av.VideoFrame(8, 8, "rgb24")
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _write_audio_only_mp4(path: Path) -> Path:
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=8000)
        stream.layout = "mono"
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        frame.planes[0].update(bytes(4 * 1024))
        frame.sample_rate, frame.pts, frame.time_base = 8000, 0, Fraction(1, 8000)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda d: d / "empty.mp4", id="empty"),
        pytest.param(lambda d: d / "random.mp4", id="random-bytes"),
        pytest.param(lambda d: d / "truncated.mp4", id="truncated-video"),
        pytest.param(lambda d: _write_png(d / "still.png"), id="still-image"),
        pytest.param(lambda d: _write_audio_only_mp4(d / "sound.mp4"), id="audio-only"),
    ],
)
def test_probe_refuses_what_is_not_a_playable_video(tmp_path: Path, make) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "random.mp4").write_bytes(bytes(range(256)) * 40)
    video = write_synthetic_video(tmp_path / "whole.mp4").read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(video[: len(video) // 3])
    with pytest.raises(Unsupported):
        probe_video(make(tmp_path))
