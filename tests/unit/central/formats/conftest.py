"""Hand-written ground truth shared by the format tests."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest

from central.formats import Annotation, BoundingBox, VideoInfo, export_annotations
from protocol import VruType


def make_annotation(
    index: int,
    frame: int,
    vru: VruType,
    box: tuple[float, float, float, float],
    track: str,
    **fields: object,
) -> Annotation:
    values: dict[str, object] = {
        "id": f"ann-{index}",
        "video_id": "video-1",
        "detection_id": track,
        "frame_number": frame,
        "timestamp": frame / 10.0,
        "vru_type": vru,
        "bounding_box": BoundingBox(*box),
    }
    values.update(fields)
    return Annotation(**values)  # type: ignore[arg-type]


@pytest.fixture
def video() -> VideoInfo:
    """A 10 fps, 6-frame, 200x100 video."""
    return VideoInfo(
        id="video-1", filename="crossing.mp4", width=200, height=100, fps=10.0, frame_count=6
    )


@pytest.fixture
def annotations() -> list[Annotation]:
    """Three tracks over frames 0-3 (4 and 5 empty), every flag used, in the database's order.

    The database service hands annotations ordered by (frame_number, detection_id).
    """
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return [
        make_annotation(
            2, 0, VruType.CYCLIST, (100.0, 10.0, 50.0, 60.0), "DET_CYC_0001", truncated=True
        ),
        make_annotation(
            1,
            0,
            VruType.PEDESTRIAN,
            (10.0, 20.0, 30.0, 40.0),
            "DET_PED_0001",
            occluded=True,
            validated=True,
            notes="behind a pole",
            annotator="alice",
            created_at=created,
        ),
        make_annotation(
            3, 1, VruType.PEDESTRIAN, (12.0, 20.0, 30.0, 40.0), "DET_PED_0001", difficult=True
        ),
        make_annotation(4, 3, VruType.SCOOTER_RIDER, (0.0, 0.0, 200.0, 100.0), "DET_SCO_0001"),
    ]


def export_bytes(format_name: str, video: VideoInfo, annotations: list[Annotation]) -> bytes:
    return b"".join(export_annotations(format_name, video, annotations).chunks)


def zip_entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def make_zip(entries: dict[str, bytes | str]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    buffer.seek(0)
    return buffer


class Helpers:
    """The helpers above, for tests (conftest modules cannot be imported by name)."""

    annotation = staticmethod(make_annotation)
    export = staticmethod(export_bytes)
    entries = staticmethod(zip_entries)
    zip = staticmethod(make_zip)


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers
