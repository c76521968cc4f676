"""Every export carries its report where the X-Export-Report header says (issue 5, item 1): what
it had to clip or drop, and what the format cannot carry (YOLO: the track id)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from central.db.models import GroundTruthAnnotation, Video

# format -> (where the header says the report is, how to read it from the body)
READERS: dict[str, tuple[str, Callable[[bytes], Any]]] = {
    "json": ("'report'", lambda body: orjson.loads(body)["report"]),
    "coco": ("'export_report'", lambda body: orjson.loads(body)["export_report"]),
    "yolo": ("export_report.json", lambda body: orjson.loads(_entry(body, "export_report.json"))),
    "pascal_voc": (
        "export_report.json",
        lambda body: orjson.loads(_entry(body, "export_report.json")),
    ),
    "mot": ("export_report.json", lambda body: orjson.loads(_entry(body, "export_report.json"))),
}


def _entry(body: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return archive.read(name)


@pytest.fixture
def dirty_video(db_session: Session, small_video: Callable[..., Video]) -> Video:
    """Three boxes stored behind the API's back: one past the right edge (60 + 10 > 64), one
    without width, one fine with notes."""
    video = small_video()
    for track, frame, (x, y, w, h), notes in (
        ("over", 0, (60, 10, 10, 10), None),
        ("flat", 1, (5, 5, 0, 10), None),
        ("fine", 2, (5, 5, 10, 10), "by the kerb"),
    ):
        db_session.add(
            GroundTruthAnnotation(
                video_id=video.id,
                detection_id=track,
                frame_number=frame,
                timestamp=frame / 10,
                vru_type="pedestrian",
                bounding_box={"x": x, "y": y, "width": w, "height": h},
                notes=notes,
            )
        )
    db_session.commit()
    return video


@pytest.mark.parametrize("fmt", list(READERS))
def test_export_reports_what_it_clipped_dropped_or_cannot_carry(
    fmt: str, client: TestClient, viewer: dict[str, str], dirty_video: Video
) -> None:
    response = client.get(
        f"/api/videos/{dirty_video.id}/annotations/export",
        params={"format": fmt},
        headers=viewer,
    )
    assert response.status_code == 200, response.text
    header = orjson.loads(response.headers["X-Export-Report"])
    location, read = READERS[fmt]
    assert location in header["reportIn"]
    assert header["storedAnnotations"] == 3

    report = read(response.content)
    if fmt == "json":
        assert (report["clipped"], report["dropped"], report["annotations"]) == (0, 0, 3)
        return  # lossless: it keeps boxes as stored
    assert (report["clipped"], report["dropped"], report["annotations"]) == (1, 1, 2)
    assert {entry["action"] for entry in report["entries"]} == {"clipped", "dropped"}
    if fmt == "yolo":
        assert report["not_represented"]["track_id"] == 2
    assert report["not_represented"]["notes"] == 1
