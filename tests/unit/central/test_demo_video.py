"""The demo video is a real, decodable clip whose pictures show the ground truth."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from central.demo.scenario import DEFAULT_SCENARIO
from central.demo.video import demo_encoding, render_demo_video


def test_rendered_video_has_the_scenarios_rate_size_and_frames(tmp_path: Path) -> None:
    path = render_demo_video(DEFAULT_SCENARIO, tmp_path / "sub" / "demo.mp4")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert float(stream.average_rate) == DEFAULT_SCENARIO.fps
        assert (stream.width, stream.height) == (DEFAULT_SCENARIO.width, DEFAULT_SCENARIO.height)
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == DEFAULT_SCENARIO.frame_count

    empty = frames[0]
    assert np.abs(empty.astype(int) - 96).max() < 12, "no VRU before the first track"

    track = DEFAULT_SCENARIO.tracks[0]
    frame = (track.first_frame + track.last_frame) // 2
    x, y, w, h = track.box_at(frame)
    centre = frames[frame][int(y + h / 2), int(x + w / 2)].astype(int)
    assert centre[0] > 180 and centre[1] < 110 and centre[2] < 110, "pedestrians are drawn red"


def test_the_clip_is_vp9_webm_when_pyav_has_the_encoder(tmp_path: Path) -> None:
    """Chromium without proprietary codecs plays VP9; MPEG-4 Part 2 plays nowhere (issue #11)."""
    path = render_demo_video(DEFAULT_SCENARIO, tmp_path / "demo.mp4")
    with av.open(str(path)) as container:
        codec = container.streams.video[0].codec_context.name
        format_name = container.format.name
    if "libvpx-vp9" in av.codecs_available:
        assert (path.suffix, codec, format_name) == (".webm", "vp9", "matroska,webm")
    else:
        assert codec in ("h264", "mpeg4") and path.suffix == demo_encoding().suffix == ".mp4"
