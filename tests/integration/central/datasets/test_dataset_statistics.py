"""Dataset statistics, quality findings and video statistics on hand-built data (issue 5, item 4).

Rows are inserted straight into the database, so the data can hold what the API refuses (boxes
outside the frame, boxes without area) and the findings have something to find.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from central.db.models import GroundTruthAnnotation, Video


@dataclass
class Dataset:
    videos: dict[str, Video]
    ids: dict[str, str]
    """annotation name -> id"""


def _add(
    session: Session,
    video: Video,
    name: str,
    track: str,
    frame: int,
    box: tuple[float, ...],
    vru: str = "pedestrian",
    validated: bool = False,
) -> tuple[str, str]:
    x, y, w, h = box
    row = GroundTruthAnnotation(
        video_id=video.id,
        detection_id=track,
        frame_number=frame,
        timestamp=frame / 10,
        vru_type=vru,
        bounding_box={"x": x, "y": y, "width": w, "height": h},
        validated=validated,
    )
    session.add(row)
    session.flush()
    return name, row.id


@pytest.fixture
def dataset(db_session: Session, small_video: Callable[..., Video]) -> Dataset:
    """Three videos:

    - ``full`` (20 frames, 64x48): track t1 on frames 0, 1, 3 (a gap at 2); t2 on frame 0 nearly
      on top of t1 (IoU 0.905); a cyclist box past the right edge (frame 5) and one without
      width (frame 6). Only a1 is validated.
    - ``empty`` (20 frames): no ground truth.
    - ``unknown`` (length unknown, 1280x720): a medium box and a large one.
    """
    full = small_video(filename="full.mp4")
    empty = small_video(filename="empty.mp4")
    unknown = small_video(filename="unknown.mp4", frame_count=None, width=1280, height=720)
    rows = [
        _add(db_session, full, "a1", "t1", 0, (0, 0, 10, 10), validated=True),
        _add(db_session, full, "a2", "t1", 1, (0, 0, 10, 10)),
        _add(db_session, full, "a3", "t1", 3, (0, 0, 10, 10)),
        _add(db_session, full, "a4", "t2", 0, (0.5, 0, 10, 10)),
        _add(db_session, full, "a5", "t3", 5, (60, 40, 10, 5), "cyclist"),
        _add(db_session, full, "a6", "t4", 6, (5, 5, 0, 10), "cyclist"),
        _add(db_session, unknown, "u1", "p1", 100, (0, 0, 40, 40)),
        _add(db_session, unknown, "u2", "p2", 101, (0, 0, 100, 100)),
    ]
    db_session.commit()
    return Dataset({"full": full, "empty": empty, "unknown": unknown}, dict(rows))


def test_dataset_statistics(client: TestClient, viewer: dict[str, str], dataset: Dataset) -> None:
    response = client.get("/api/datasets/statistics", headers=viewer)
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["videos"] == 3
    assert stats["videosWithAnnotations"] == 2
    assert stats["frames"] == 40
    assert stats["videosWithUnknownFrameCount"] == 1
    assert stats["annotatedFrames"] == 7
    assert stats["framesWithoutAnnotations"] == 40 - 5
    assert stats["annotations"] == 8
    assert stats["tracks"] == 6
    assert stats["byVruType"] == {
        "pedestrian": 6,
        "cyclist": 2,
        "motorcyclist": 0,
        "wheelchair_user": 0,
        "scooter_rider": 0,
    }
    assert stats["byFlag"] == {"occluded": 0, "truncated": 0, "difficult": 0, "validated": 1}
    assert stats["validatedShare"] == pytest.approx(1 / 8)
    assert stats["boxesPerFrame"] == {
        "mean": pytest.approx(8 / 7),
        "max": 2,
        "histogram": {"1": 6, "2": 1},
    }
    size = stats["boxSize"]
    assert (size["small"], size["medium"], size["large"]) == (6, 1, 1)
    assert (size["minWidth"], size["maxWidth"], size["maxHeight"]) == (0, 100, 100)


def findings_by_code(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get("/api/datasets/quality-assessment", headers=headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["annotations"] == 8 and report["videos"] == 3
    by_code = {finding["code"]: finding for finding in report["findings"]}
    assert report["issuesFound"] == sum(1 for f in by_code.values() if f["count"])
    for finding in by_code.values():
        assert finding["recommendation"] and len(finding["examples"]) <= 5
    return by_code


def test_quality_findings(client: TestClient, viewer: dict[str, str], dataset: Dataset) -> None:
    ids, videos = dataset.ids, dataset.videos
    found = findings_by_code(client, viewer)
    assert len(found) == 7

    outside = found["boxes_outside_frame"]
    assert (outside["count"], outside["severity"]) == (1, "error")
    assert [e["annotationId"] for e in outside["examples"]] == [ids["a5"]]
    zero = found["zero_area_boxes"]
    assert zero["count"] == 1 and zero["examples"][0]["annotationId"] == ids["a6"]

    duplicates = found["near_duplicate_boxes"]
    assert duplicates["count"] == 1
    assert sorted(duplicates["examples"][0]["annotationIds"]) == sorted([ids["a1"], ids["a4"]])
    assert duplicates["examples"][0]["frameNumber"] == 0

    gaps = found["tracks_with_gaps"]
    assert gaps["count"] == 1
    assert gaps["examples"] == [
        {
            "videoId": videos["full"].id,
            "detectionId": "t1",
            "firstFrame": 0,
            "lastFrame": 3,
            "missingFrames": 1,
        }
    ]

    unvalidated = found["unvalidated_annotations"]
    assert (unvalidated["count"], unvalidated["severity"]) == (7, "info")
    assert len(unvalidated["examples"]) == 5
    assert ids["a1"] not in {e["annotationId"] for e in unvalidated["examples"]}

    imbalance = found["class_imbalance"]
    assert imbalance["count"] == 3
    assert {e["vruType"] for e in imbalance["examples"]} == {
        "motorcyclist",
        "wheelchair_user",
        "scooter_rider",
    }

    no_truth = found["videos_without_ground_truth"]
    assert no_truth["count"] == 1
    assert no_truth["examples"] == [{"videoId": videos["empty"].id, "filename": "empty.mp4"}]


def test_a_clean_dataset_passes_the_box_checks(
    client: TestClient,
    viewer: dict[str, str],
    db_session: Session,
    small_video: Callable[..., Video],
) -> None:
    video = small_video()
    _add(db_session, video, "a", "t1", 0, (0, 0, 10, 10), validated=True)
    _add(db_session, video, "b", "t1", 1, (1, 0, 10, 10), validated=True)
    _add(db_session, video, "c", "t2", 1, (30, 0, 10, 10), "cyclist", validated=True)
    db_session.commit()
    response = client.get("/api/datasets/quality-assessment", headers=viewer)
    counts = {f["code"]: f["count"] for f in response.json()["findings"]}
    assert counts == {
        "boxes_outside_frame": 0,
        "zero_area_boxes": 0,
        "near_duplicate_boxes": 0,
        "tracks_with_gaps": 0,
        "unvalidated_annotations": 0,
        "class_imbalance": 3,
        "videos_without_ground_truth": 0,
    }


def test_video_statistics_is_not_taken_for_a_video_id(
    client: TestClient, viewer: dict[str, str], dataset: Dataset
) -> None:
    response = client.get("/api/videos/statistics", headers=viewer, params={"limit": 2})
    assert response.status_code == 200, response.text
    stats = response.json()
    assert response.headers["X-Total-Count"] == "3"
    assert (stats["totalVideos"], stats["withGroundTruth"], stats["withoutGroundTruth"]) == (
        3,
        2,
        1,
    )
    assert stats["byResolution"] == {"64x48": 2, "1280x720": 1}
    assert stats["totalFrames"] == 40
    full = stats["videos"][0]
    assert full["videoId"] == dataset.videos["full"].id
    assert (full["annotations"], full["annotatedFrames"], full["tracks"]) == (6, 5, 4)
    assert full["frameCoverage"] == pytest.approx(5 / 20)
    assert len(stats["videos"]) == 2

    video = client.get(f"/api/videos/{dataset.videos['full'].id}", headers=viewer)
    assert video.status_code == 200 and video.json()["filename"] == "full.mp4"
    assert client.get("/api/videos/statistics").status_code == 401


def test_statistics_of_an_empty_dataset(client: TestClient, viewer: dict[str, str]) -> None:
    stats = client.get("/api/datasets/statistics", headers=viewer).json()
    assert (stats["videos"], stats["annotations"], stats["validatedShare"]) == (0, 0, None)
    assert stats["boxesPerFrame"] == {"mean": None, "max": None, "histogram": {}}
    quality = client.get("/api/datasets/quality-assessment", headers=viewer).json()
    assert quality["issuesFound"] == 0
