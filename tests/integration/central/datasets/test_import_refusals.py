"""Malformed and hostile imports (issue 5, items 2 and 5): a 4xx that says where, and nothing
written: the video keeps exactly the annotations it had."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.auth import Role
from central.config import CentralSettings
from central.db.models import Video
from tests.integration.central.datasets.conftest import box

DATA_YAML = b"names: [pedestrian, cyclist]\n"
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<annotation><filename>frame_000000.jpg</filename><object><name>&lol2;</name></object></annotation>
"""


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def json_file(*items: dict[str, Any]) -> bytes:
    return orjson.dumps({"annotations": list(items)})


GOOD = box("NEW", 3, 1, 1, 5, 5)

# name -> (format, upload file name, content, status, the file, line, element or field that
# some issue must name)
CASES: dict[str, tuple[str, str, bytes, int, dict[str, Any]]] = {
    "json syntax": (
        "json",
        "gt.json",
        b'{"annotations": [\n{"frameNumber": 1,,}]}',
        422,
        {"file": "gt.json", "line": 2},
    ),
    "one bad row among good ones": (
        "json",
        "gt.json",
        json_file(GOOD, {**GOOD, "frameNumber": "three"}),
        422,
        {"file": "gt.json", "element": "annotations[1]", "field": "frameNumber"},
    ),
    "frame past the video": (
        "json",
        "gt.json",
        json_file(GOOD, box("X", 500, 1, 1, 5, 5)),
        422,
        {"file": "gt.json", "element": "annotations[1]", "field": "frameNumber"},
    ),
    "NUL in notes": (
        "json",
        "gt.json",
        json_file({**GOOD, "notes": "a\u0000b"}),
        422,
        {"file": "gt.json", "field": "notes"},
    ),
    "naive createdAt": (
        "json",
        "gt.json",
        json_file({**GOOD, "createdAt": "2024-01-01T00:00:00"}),
        422,
        {"file": "gt.json", "field": "createdAt"},
    ),
    "drawn on another video size": (
        "json",
        "gt.json",
        orjson.dumps({"video": {"width": 1920, "height": 1080}, "annotations": [GOOD]}),
        422,
        {"file": "gt.json", "field": "video"},
    ),
    "yolo bad label line": (
        "yolo",
        "labels.zip",
        zipped(
            {
                "data.yaml": DATA_YAML,
                "labels/frame_000003.txt": b"0 0.5 0.5 0.1 0.1\n0 0.5 nan? 0.1\n",
            }
        ),
        422,
        {"file": "labels/frame_000003.txt", "line": 2},
    ),
    "yolo zip slip": (
        "yolo",
        "slip.zip",
        zipped({"data.yaml": DATA_YAML, "../../etc/evil.txt": b"0 .5 .5 .1 .1\n"}),
        422,
        {"file": "slip.zip"},
    ),
    "yolo zip bomb": (
        "yolo",
        "bomb.zip",
        zipped({"data.yaml": DATA_YAML, "labels/frame_000000.txt": b"\n" * (17 * 1024**2)}),
        422,
        {"file": "bomb.zip", "element": "labels/frame_000000.txt"},
    ),
    "yolo not a zip": (
        "yolo",
        "labels.zip",
        b"this is not a zip archive",
        422,
        {"file": "labels.zip"},
    ),
    "voc entity expansion": (
        "pascal_voc",
        "voc.zip",
        zipped({"Annotations/frame_000000.xml": BILLION_LAUGHS}),
        422,
        {"file": "Annotations/frame_000000.xml"},
    ),
    "coco without lists": ("coco", "coco.json", b'{"images": 3}', 422, {"file": "coco.json"}),
    "mot wrong column count": (
        "mot",
        "gt.txt",
        b"4,1,2,2,5,5,1,1,1\n5,1,2,2,5,5,1\n5,2,2,2,5,5\n",
        422,
        {"file": "gt.txt", "line": 3},
    ),
    "mot negative height": (
        "mot",
        "gt.txt",
        b"4,1,2,2,5,-5,1,1,1\n",
        422,
        {"file": "gt.txt", "line": 1, "field": "h"},
    ),
    "mot frame 0": ("mot", "gt.txt", b"0,1,2,2,5,5,1,1,1\n", 422, {"line": 1, "field": "frame"}),
    "mot id twice in a frame": (
        "mot",
        "gt.txt",
        b"4,1,2,2,5,5,1,1,1\n4,1,3,3,5,5,1,1,1\n",
        422,
        {"file": "gt.txt", "line": 2, "field": "id"},
    ),
    "mot zip bomb": (
        "mot",
        "bomb.zip",
        zipped({"seq/gt/gt.txt": b"\n" * (17 * 1024**2)}),
        422,
        {"file": "bomb.zip", "element": "seq/gt/gt.txt"},
    ),
    "mot zip slip": (
        "mot",
        "slip.zip",
        zipped({"../../gt/gt.txt": b"1,1,1,1,5,5,1,1,1\n"}),
        422,
        {"file": "slip.zip"},
    ),
}


@pytest.fixture
def video_with_truth(small_video: Callable[..., Video], annotate: Callable[..., None]) -> Video:
    video = small_video()
    annotate(video.id, [box("A", 0, 1, 1, 10, 10), box("B", 1, 2, 2, 10, 10)])
    return video


def snapshot(client: TestClient, headers: dict[str, str], video_id: str) -> list[Any]:
    response = client.get(f"/api/videos/{video_id}/annotations", headers=headers)
    assert response.status_code == 200
    rows: list[Any] = response.json()
    return rows


def test_refused_imports_name_where_and_write_nothing(
    client: TestClient,
    video_with_truth: Video,
    annotator: dict[str, str],
    viewer: dict[str, str],
) -> None:
    """Every case against one app (an app per case would cost most of the run)."""
    before = snapshot(client, viewer, video_with_truth.id)
    for case, (fmt, filename, content, status, where) in CASES.items():
        response = client.post(
            f"/api/videos/{video_with_truth.id}/annotations/import",
            params={"format": fmt, "onConflict": "replace"},
            files={"file": (filename, content)},
            headers=annotator,
        )
        assert response.status_code == status, (case, response.text)
        issues = response.json()["detail"]
        assert issues and all(issue["msg"] for issue in issues), case
        named = any(all(issue.get(k) == v for k, v in where.items()) for issue in issues)
        assert named, (case, issues)
        assert snapshot(client, viewer, video_with_truth.id) == before, case


@pytest.fixture
def small_limit_client(settings: CentralSettings, client: TestClient) -> Iterator[TestClient]:
    """The same database behind an app whose upload limit is 1 MiB."""
    app = create_app(settings.model_copy(update={"max_upload_mb": 1}))
    with TestClient(app) as limited:
        yield limited


def test_upload_over_the_limit_is_a_413_and_writes_nothing(
    small_limit_client: TestClient,
    client: TestClient,
    video_with_truth: Video,
    annotator: dict[str, str],
    viewer: dict[str, str],
) -> None:
    before = snapshot(client, viewer, video_with_truth.id)
    padding = [{**GOOD, "detectionId": f"T{i}", "notes": "x" * 1000} for i in range(1100)]
    response = small_limit_client.post(
        f"/api/videos/{video_with_truth.id}/annotations/import",
        params={"onConflict": "replace"},
        files={"file": ("big.json", json_file(*padding))},
        headers=annotator,
    )
    assert response.status_code == 413, response.text
    assert snapshot(client, viewer, video_with_truth.id) == before


def test_access_format_and_video_are_checked(
    client: TestClient,
    video_with_truth: Video,
    auth_headers: dict[Role, dict[str, str]],
) -> None:
    url = f"/api/videos/{video_with_truth.id}/annotations/import"
    upload = {"file": ("gt.json", json_file(GOOD))}
    assert client.post(url, files=upload).status_code == 401
    assert client.post(url, files=upload, headers=auth_headers[Role.VIEWER]).status_code == 403
    annotator = auth_headers[Role.ANNOTATOR]
    response = client.post(url, params={"format": "csv"}, files=upload, headers=annotator)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "format"]
    response = client.post(url, params={"onConflict": "overwrite"}, files=upload, headers=annotator)
    assert response.status_code == 422
    missing = client.post(
        "/api/videos/no-such-video/annotations/import", files=upload, headers=annotator
    )
    assert missing.status_code == 404
    assert client.post(url, data={"x": "no file"}, headers=annotator).status_code == 422
