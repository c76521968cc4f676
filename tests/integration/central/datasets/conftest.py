"""Fixtures of the dataset tests: role headers, small videos and annotations written via the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.db.models import GroundTruthAnnotation, Video

FPS = 10.0
FRAMES = 20
WIDTH, HEIGHT = 64, 48


@pytest.fixture
def small_video(make_video: Callable[..., Video]) -> Callable[..., Video]:
    """A video row of 20 frames, 64x48 at 10 fps (no file: exports and imports need none)."""

    def make(**fields: Any) -> Video:
        values = {
            "fps": FPS,
            "frame_count": FRAMES,
            "width": WIDTH,
            "height": HEIGHT,
            "duration_s": FRAMES / FPS,
            **fields,
        }
        return make_video(**values)

    return make


@pytest.fixture
def annotate(client: TestClient, annotator: dict[str, str]) -> Callable[..., None]:
    """Write annotations through the bulk API (so they obey every rule of API writes)."""

    def write(video_id: str, items: list[dict[str, Any]]) -> None:
        response = client.post(
            f"/api/videos/{video_id}/annotations/bulk",
            json={"annotations": items},
            headers=annotator,
        )
        assert response.status_code == 201, response.text

    return write


@pytest.fixture
def count_rows(db_session: Session) -> Callable[[str], int]:
    def count(video_id: str) -> int:
        db_session.expire_all()
        query = select(func.count()).where(GroundTruthAnnotation.video_id == video_id)
        return db_session.scalar(query) or 0

    return count


def box(
    track: str,
    frame: int,
    x: float,
    y: float,
    w: float,
    h: float,
    vru: str = "pedestrian",
    **fields: Any,
) -> dict[str, Any]:
    return {
        "detectionId": track,
        "frameNumber": frame,
        "vruType": vru,
        "boundingBox": {"x": x, "y": y, "width": w, "height": h},
        **fields,
    }
