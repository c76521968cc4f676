"""Ground truth as MOTChallenge text through the API (issue 12, item 6), with py-motmetrics'
``io.loadtxt`` as the oracle: what we export it reads with our frames, tracks and boxes; what it
reads we import with its values; a dry run writes nothing."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import motmetrics as mm
import orjson
import pytest
from fastapi.testclient import TestClient

from central.db.models import Video
from tests.integration.central.datasets.conftest import box

TRUTH = [
    box("walker", 0, 1.5, 2.25, 10.5, 20.125, occluded=True),
    box("walker", 1, 2.0, 3.0, 10.0, 20.0),
    box("rider", 1, 30.25, 10.0, 12.0, 30.0, "cyclist", difficult=True),
    box("walker", 4, 3.0, 4.0, 10.0, 20.0),
]
# Written as loadtxt reads it: commas or white space, 1-based frames and pixels.
LOADTXT_FILE = b"1,7,2,3,10,20,1,1,1\n2,7,3,3,10,20,1,1,0.3\n2\t9\t41\t11\t12\t30\t0\t2\t1\n"


def _import(
    client: TestClient, headers: dict[str, str], video_id: str, content: bytes, **params: Any
) -> dict[str, Any]:
    response = client.post(
        f"/api/videos/{video_id}/annotations/import",
        params={"format": "mot", **params},
        files={"file": ("gt.txt", content)},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _stored(client: TestClient, headers: dict[str, str], video_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/videos/{video_id}/annotations", headers=headers)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_an_export_is_read_by_loadtxt_with_our_frames_tracks_and_boxes(
    tmp_path: Path,
    client: TestClient,
    small_video: Callable[..., Video],
    annotate: Callable[..., None],
    viewer: dict[str, str],
) -> None:
    video = small_video(filename="crossing.mp4")
    annotate(video.id, TRUTH)
    response = client.get(
        f"/api/videos/{video.id}/annotations/export", params={"format": "mot"}, headers=viewer
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].endswith('crossing.mot.zip"')
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        (tmp_path / "gt.txt").write_bytes(archive.read("crossing/gt/gt.txt"))
        track_ids = orjson.loads(archive.read("track_ids.json"))
    loaded = mm.io.loadtxt(str(tmp_path / "gt.txt"), fmt="mot15-2D")

    stored = {(a["frameNumber"], a["detectionId"]): a for a in _stored(client, viewer, video.id)}
    read = {(frame - 1, track_ids[str(mot_id)]): row for (frame, mot_id), row in loaded.iterrows()}
    assert read.keys() == stored.keys()
    for key, row in read.items():
        want = stored[key]["boundingBox"]
        assert [row.X, row.Y, row.Width, row.Height] == pytest.approx(
            [want["x"], want["y"], want["width"], want["height"]], abs=1e-9
        )
        assert row.Confidence == (0 if stored[key]["difficult"] else 1)


def test_a_file_as_loadtxt_reads_it_imports_with_its_values(
    tmp_path: Path,
    client: TestClient,
    small_video: Callable[..., Video],
    annotator: dict[str, str],
    viewer: dict[str, str],
) -> None:
    (tmp_path / "gt.txt").write_bytes(LOADTXT_FILE)
    loaded = mm.io.loadtxt(str(tmp_path / "gt.txt"), fmt="mot15-2D")
    video = small_video()
    result = _import(client, annotator, video.id, LOADTXT_FILE)
    assert (result["created"], result["report"]["imported"]) == (3, 3)

    stored = {
        (a["frameNumber"] + 1, int(a["detectionId"])): a for a in _stored(client, viewer, video.id)
    }
    assert stored.keys() == set(loaded.index)
    for key, row in loaded.iterrows():
        got = stored[key]["boundingBox"]
        assert [got["x"], got["y"], got["width"], got["height"]] == pytest.approx(
            [row.X, row.Y, row.Width, row.Height], abs=1e-9
        )
    assert stored[(2, 7)]["occluded"] is True  # 30 % visible
    assert stored[(2, 9)]["vruType"] == "cyclist" and stored[(2, 9)]["difficult"] is True


def test_a_dry_run_answers_what_the_import_would_write_and_writes_nothing(
    client: TestClient,
    small_video: Callable[..., Video],
    annotator: dict[str, str],
    count_rows: Callable[[str], int],
) -> None:
    video = small_video()
    dry = _import(client, annotator, video.id, LOADTXT_FILE, dryRun="true")
    assert (dry["dryRun"], dry["created"], dry["report"]["boxesRead"]) == (True, 3, 3)
    assert count_rows(video.id) == 0
    real = _import(client, annotator, video.id, LOADTXT_FILE)
    assert real["created"] == dry["created"] and count_rows(video.id) == 3
    again = _import(client, annotator, video.id, LOADTXT_FILE, dryRun="true")
    assert (again["created"], again["skipped"]) == (0, 3)
