"""Export -> import into an empty video -> export gives the same file, through the API (issue 5,
item 3): exact for JSON, COCO and MOT (issue 12), 1e-6 normalised for YOLO, 1 px for Pascal VOC."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from central.db.models import Video
from tests.integration.central.datasets.conftest import HEIGHT, WIDTH, box

UPLOAD_NAMES = {
    "json": "a.json",
    "coco": "a.coco.json",
    "yolo": "a.zip",
    "pascal_voc": "a.zip",
    "mot": "a.mot.zip",
}
REPORT_ENTRY = "export_report.json"

ORIGINAL = [
    box(
        "DET_PED_0001",
        0,
        1.5,
        2.25,
        10.5,
        20.125,
        occluded=True,
        notes="behind a van",
        annotator="ann",
    ),
    box("DET_PED_0001", 1, 2.0, 3.0, 10.0, 20.0, validated=True),
    box("DET_CYC_0001", 1, 30.25, 10.0, 12.0, 30.0, "cyclist", truncated=True, difficult=True),
    box("DET_PED_0001", 4, 3.0, 4.0, 10.0, 20.0),
    box("DET_WCH_0001", 19, 50.0, 30.0, 14.0, 18.0, "wheelchair_user"),
]


def export(client: TestClient, headers: dict[str, str], video_id: str, fmt: str) -> bytes:
    response = client.get(
        f"/api/videos/{video_id}/annotations/export", params={"format": fmt}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.content


def stored_boxes(client: TestClient, headers: dict[str, str], video_id: str) -> list[Any]:
    response = client.get(f"/api/videos/{video_id}/annotations", headers=headers)
    assert response.status_code == 200, response.text
    return [(a["frameNumber"], a["vruType"], a["boundingBox"]) for a in response.json()]


def track_ids(client: TestClient, headers: dict[str, str], video_id: str) -> list[Any]:
    response = client.get(f"/api/videos/{video_id}/annotations", headers=headers)
    return [(a["frameNumber"], a["detectionId"], a["occluded"]) for a in response.json()]


def without_ids(document: dict[str, Any]) -> dict[str, Any]:
    """Our JSON minus what the database assigns (ids, the video's id)."""
    annotations = [
        {k: v for k, v in a.items() if k not in ("id", "videoId")} for a in document["annotations"]
    ]
    return {**document, "video": {**document["video"], "id": None}, "annotations": annotations}


def zip_entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def assert_same_yolo(first: bytes, second: bytes) -> None:
    a, b = zip_entries(first), zip_entries(second)
    assert a.keys() == b.keys()
    for name in a:
        if name.startswith("labels/"):
            rows_a = [line.split() for line in a[name].decode().splitlines()]
            rows_b = [line.split() for line in b[name].decode().splitlines()]
            assert [r[0] for r in rows_a] == [r[0] for r in rows_b], name
            for row_a, row_b in zip(rows_a, rows_b, strict=True):
                assert [float(v) for v in row_b[1:]] == pytest.approx(
                    [float(v) for v in row_a[1:]], abs=1e-6
                ), name
        elif name != REPORT_ENTRY:
            assert a[name] == b[name], name


def assert_same_archive(first: bytes, second: bytes) -> None:
    a, b = zip_entries(first), zip_entries(second)
    assert a.keys() == b.keys()
    assert {n: v for n, v in a.items() if n != REPORT_ENTRY} == {
        n: v for n, v in b.items() if n != REPORT_ENTRY
    }


def assert_same_document(fmt: str, first: bytes, second: bytes) -> None:
    a, b = orjson.loads(first), orjson.loads(second)
    report_key = "report" if fmt == "json" else "export_report"
    for document in (a, b):
        assert document.pop(report_key)["dropped"] == 0
    if fmt == "json":
        a, b = without_ids(a), without_ids(b)
    assert a == b


def assert_boxes_within(original: list[Any], imported: list[Any], tolerance: float) -> None:
    assert [(f, t) for f, t, _ in imported] == [(f, t) for f, t, _ in original]
    for (_, _, want), (_, _, got) in zip(original, imported, strict=True):
        for key in ("x", "y", "width", "height"):
            assert abs(got[key] - want[key]) <= tolerance, (key, want, got)


@pytest.mark.parametrize("fmt", ["json", "coco", "yolo", "pascal_voc", "mot"])
def test_export_import_export_gives_the_same_file(
    fmt: str,
    client: TestClient,
    small_video: Callable[..., Video],
    annotate: Callable[..., None],
    annotator: dict[str, str],
    viewer: dict[str, str],
) -> None:
    source = small_video(filename="crossing.mp4")
    annotate(source.id, ORIGINAL)
    first = export(client, viewer, source.id, fmt)

    target = small_video(filename="crossing.mp4")
    response = client.post(
        f"/api/videos/{target.id}/annotations/import",
        params={"format": fmt},
        files={"file": (UPLOAD_NAMES[fmt], first)},
        headers=annotator,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["created"], result["skipped"], result["report"]["dropped"]) == (5, 0, 0)
    second = export(client, viewer, target.id, fmt)

    original = stored_boxes(client, viewer, source.id)
    imported = stored_boxes(client, viewer, target.id)
    if fmt == "yolo":
        assert_same_yolo(first, second)
        assert_boxes_within(original, imported, 1e-6 * max(WIDTH, HEIGHT))
    elif fmt == "pascal_voc":
        assert_same_archive(first, second)
        assert_boxes_within(original, imported, 1.0)
    elif fmt == "mot":
        assert_same_archive(first, second)
        assert imported == original
        assert track_ids(client, viewer, target.id) == track_ids(client, viewer, source.id)
    else:
        assert_same_document(fmt, first, second)
        assert imported == original


def test_json_round_trip_keeps_every_field(
    client: TestClient,
    small_video: Callable[..., Video],
    annotate: Callable[..., None],
    annotator: dict[str, str],
    viewer: dict[str, str],
) -> None:
    source, target = small_video(), small_video()
    annotate(source.id, ORIGINAL)
    exported = export(client, viewer, source.id, "json")
    response = client.post(
        f"/api/videos/{target.id}/annotations/import",
        files={"file": ("a.json", exported)},
        headers=annotator,
    )
    assert response.status_code == 200, response.text

    def fields(video_id: str) -> list[dict[str, Any]]:
        rows = client.get(f"/api/videos/{video_id}/annotations", headers=viewer).json()
        return [{k: v for k, v in row.items() if k not in ("id", "videoId")} for row in rows]

    assert fields(target.id) == fields(source.id)
    assert fields(target.id)[0]["notes"] == "behind a van"
