"""Fixtures of the video and annotation API tests: real small videos made with PyAV, uploads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from central.demo.synthetic_video import write_synthetic_video

VIDEO_FRAMES = 12
VIDEO_FPS = 10
VIDEO_SIZE = (64, 48)


@pytest.fixture(scope="session")
def video_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real MP4: 12 frames of 64x48 at 10 fps."""
    path = tmp_path_factory.mktemp("videos") / "clip.mp4"
    width, height = VIDEO_SIZE
    write_synthetic_video(path, frame_count=VIDEO_FRAMES, fps=VIDEO_FPS, width=width, height=height)
    return path.read_bytes()


@pytest.fixture
def upload(
    client: TestClient, operator: dict[str, str], video_bytes: bytes
) -> Callable[..., dict[str, Any]]:
    """Upload a video through the API (the 12-frame MP4 unless ``content`` is given); returns
    the response JSON after checking the 201."""

    def send(
        *,
        content: bytes | None = None,
        filename: str = "clip.mp4",
        project_id: str | None = None,
        url: str = "/api/videos",
    ) -> dict[str, Any]:
        data = {"projectId": project_id} if project_id is not None else None
        response = client.post(
            url,
            files={"file": (filename, video_bytes if content is None else content, "video/mp4")},
            data=data,
            headers=operator,
        )
        assert response.status_code == 201, response.text
        video: dict[str, Any] = response.json()
        return video

    return send


@pytest.fixture
def videos_dir(client: TestClient) -> Path:
    app: Any = client.app
    return Path(app.state.settings.data_dir) / "videos"
