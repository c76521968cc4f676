"""Video upload, listing, deletion and streaming through the real app and database."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.app import create_app
from central.auth import Role
from central.config import CentralSettings
from central.db.models import TestSession, Video
from central.services.tokens import create_token

Upload = Callable[..., dict[str, Any]]


def stored_files(videos_dir: Path) -> list[Path]:
    return sorted(videos_dir.iterdir()) if videos_dir.exists() else []


def video_rows(db_session: Session) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(Video)) or 0


def test_upload_to_the_library_probes_and_stores_under_a_generated_name(
    client: TestClient, upload: Upload, video_bytes: bytes, videos_dir: Path, viewer: dict
) -> None:
    video = upload(filename="my clip.mp4")
    assert video["projectId"] is None
    assert video["filename"] == "my clip.mp4"
    assert video["sizeBytes"] == len(video_bytes)
    assert video["contentType"] == "video/mp4"
    assert (video["fps"], video["frameCount"], video["width"], video["height"]) == (10, 12, 64, 48)
    assert video["codec"] == "mpeg4"
    assert video["durationS"] == pytest.approx(1.2, abs=0.01)
    assert stored_files(videos_dir) == [videos_dir / f"{video['id']}.mp4"]
    assert (videos_dir / f"{video['id']}.mp4").read_bytes() == video_bytes

    assert client.get(f"/api/videos/{video['id']}", headers=viewer).json() == video
    listed = client.get("/api/videos", headers=viewer)
    assert listed.json() == [video]
    assert listed.headers["X-Total-Count"] == "1"


def test_upload_into_a_project_by_form_field_or_url(
    client: TestClient, upload: Upload, make_project: Callable[..., dict], viewer: dict
) -> None:
    project = make_project()
    in_project = upload(project_id=project["id"])
    in_library = upload()
    assert in_project["projectId"] == project["id"]

    of_project = client.get(f"/api/projects/{project['id']}/videos", headers=viewer).json()
    assert [v["id"] for v in of_project] == [in_project["id"]]
    library = client.get("/api/videos", params={"library": True}, headers=viewer).json()
    assert [v["id"] for v in library] == [in_library["id"]]
    by_filter = client.get("/api/videos", params={"projectId": project["id"]}, headers=viewer)
    assert [v["id"] for v in by_filter.json()] == [in_project["id"]]
    by_url = upload(url=f"/api/projects/{project['id']}/videos")
    assert by_url["projectId"] == project["id"]


def test_upload_to_an_unknown_project_is_404_and_leaves_nothing(
    client: TestClient,
    operator: dict,
    video_bytes: bytes,
    videos_dir: Path,
    db_session: Session,
) -> None:
    files = {"file": ("clip.mp4", video_bytes, "video/mp4")}
    by_form = client.post("/api/videos", files=files, data={"projectId": "nope"}, headers=operator)
    by_url = client.post("/api/projects/nope/videos", files=files, headers=operator)
    for response in (by_form, by_url):
        assert response.status_code == 404
        assert "nope" in response.json()["detail"]
    assert stored_files(videos_dir) == []
    assert video_rows(db_session) == 0


def test_two_different_projects_in_form_and_url_are_refused(
    client: TestClient,
    operator: dict,
    video_bytes: bytes,
    videos_dir: Path,
    make_project: Callable[..., dict],
) -> None:
    first, second = make_project(), make_project()
    response = client.post(
        f"/api/projects/{first['id']}/videos",
        files={"file": ("clip.mp4", video_bytes, "video/mp4")},
        data={"projectId": second["id"]},
        headers=operator,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "projectId"]
    assert stored_files(videos_dir) == []


def test_a_file_that_is_not_a_video_is_415_and_leaves_nothing(
    client: TestClient, operator: dict, videos_dir: Path, db_session: Session
) -> None:
    for content in [b"just some text, not a video\n" * 40, os.urandom(4096), b""]:
        response = client.post(
            "/api/videos", files={"file": ("clip.mp4", content, "video/mp4")}, headers=operator
        )
        assert response.status_code == 415
    assert stored_files(videos_dir) == []
    assert video_rows(db_session) == 0


def test_the_uploaded_file_name_never_reaches_the_filesystem(
    client: TestClient, upload: Upload, settings: CentralSettings, viewer: dict
) -> None:
    video = upload(filename="../../escape.mp4")
    assert video["filename"] == "escape.mp4"
    every_file = {p.name for p in settings.data_dir.rglob("*") if p.is_file()}
    assert f"{video['id']}.mp4" in every_file
    assert not any("escape" in name for name in every_file)
    assert not (settings.data_dir.parent / "escape.mp4").exists()
    windows = upload(filename="C:\\Users\\me\\clip.mp4")
    assert windows["filename"] == "clip.mp4"


def test_a_form_without_the_file_is_422(client: TestClient, operator: dict) -> None:
    response = client.post(
        "/api/videos", data={"projectId": "x"}, files={"other": ("a", b"a")}, headers=operator
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "file"]
    not_multipart = client.post("/api/videos", json={"file": "x"}, headers=operator)
    assert not_multipart.status_code == 422


@pytest.fixture
def small_limit_client(settings: CentralSettings) -> Iterator[tuple[TestClient, dict, Path]]:
    """The app with a 1 MiB upload limit, and an operator token for it."""
    limited = CentralSettings(**{**settings.model_dump(), "max_upload_mb": 1})
    with TestClient(create_app(limited)) as client:
        app: Any = client.app
        with app.state.session_factory() as session:
            token = create_token(session, Role.OPERATOR)[1]
        yield client, {"Authorization": f"Bearer {token}"}, limited.data_dir / "videos"


def test_an_upload_over_the_limit_is_413_and_leaves_nothing(
    small_limit_client: tuple[TestClient, dict, Path],
) -> None:
    client, headers, videos_dir = small_limit_client
    big = os.urandom(3 * 1024 * 1024)
    response = client.post(
        "/api/videos", files={"file": ("big.mp4", big, "video/mp4")}, headers=headers
    )
    assert response.status_code == 413
    assert stored_files(videos_dir) == []


def test_an_upload_without_content_length_is_stopped_at_the_limit(
    small_limit_client: tuple[TestClient, dict, Path],
) -> None:
    client, headers, videos_dir = small_limit_client
    boundary = "limit-test"
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        for _ in range(64):  # 4 MiB in 64 KiB chunks, sent chunked
            sent += 65536
            yield b"\0" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/api/videos",
        content=body(),
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413
    assert stored_files(videos_dir) == []


def test_delete_removes_row_file_and_annotations(
    client: TestClient,
    upload: Upload,
    operator: dict,
    annotator: dict,
    viewer: dict,
    videos_dir: Path,
) -> None:
    video = upload()
    box = {"x": 1, "y": 1, "width": 10, "height": 10}
    created = client.post(
        f"/api/videos/{video['id']}/annotations",
        json={
            "detectionId": "DET_PED_0001",
            "frameNumber": 3,
            "vruType": "pedestrian",
            "boundingBox": box,
        },
        headers=annotator,
    )
    assert created.status_code == 201, created.text

    assert client.delete(f"/api/videos/{video['id']}", headers=operator).status_code == 204
    assert client.get(f"/api/videos/{video['id']}", headers=viewer).status_code == 404
    assert client.get(f"/api/annotations/{created.json()['id']}", headers=viewer).status_code == 404
    assert stored_files(videos_dir) == []


def test_a_video_a_test_session_ran_on_cannot_be_deleted(
    client: TestClient,
    upload: Upload,
    operator: dict,
    make_project: Callable[..., dict],
    db_session: Session,
    videos_dir: Path,
) -> None:
    project = make_project()
    video = upload(project_id=project["id"])
    db_session.add(
        TestSession(name="run", project_id=project["id"], video_id=video["id"], rig_id="rig-1")
    )
    db_session.commit()
    response = client.delete(f"/api/videos/{video['id']}", headers=operator)
    assert response.status_code == 409
    assert stored_files(videos_dir) == [videos_dir / f"{video['id']}.mp4"]


def test_unknown_ids_are_404_writes_need_an_operator_and_reads_a_token(
    client: TestClient, viewer: dict, annotator: dict, operator: dict, video_bytes: bytes
) -> None:
    assert client.get("/api/videos/nope", headers=viewer).status_code == 404
    assert client.delete("/api/videos/nope", headers=operator).status_code == 404
    assert client.get("/api/videos/nope/stream", headers=viewer).status_code == 404
    files = {"file": ("clip.mp4", video_bytes, "video/mp4")}
    assert client.post("/api/videos", files=files, headers=annotator).status_code == 403
    assert client.get("/api/videos").status_code == 401
    assert client.get("/api/videos", headers=viewer).status_code == 200


class TestStream:
    @pytest.fixture
    def video(self, upload: Upload) -> dict[str, Any]:
        return upload()

    def test_whole_file_head_and_a_missing_file(
        self, client: TestClient, video: dict, viewer: dict, video_bytes: bytes, videos_dir: Path
    ) -> None:
        url = f"/api/videos/{video['id']}/stream"
        response = client.get(url, headers=viewer)
        assert response.status_code == 200
        assert response.content == video_bytes
        assert response.headers["content-type"] == "video/mp4"
        assert response.headers["accept-ranges"] == "bytes"

        head = client.head(url, headers=viewer)
        assert head.status_code == 200
        assert head.headers["content-length"] == str(len(video_bytes))
        assert head.content == b""

        (videos_dir / f"{video['id']}.mp4").unlink()
        assert client.get(url, headers=viewer).status_code == 404

    def test_single_ranges_are_206_and_unsatisfiable_ones_416(
        self, client: TestClient, video: dict, viewer: dict, video_bytes: bytes
    ) -> None:
        url = f"/api/videos/{video['id']}/stream"
        size = len(video_bytes)
        for header, first, last in [
            ("bytes=0-99", 0, 99),
            ("bytes=100-", 100, size - 1),
            ("bytes=-50", size - 50, size - 1),
            ("bytes=10-10", 10, 10),
            ("bytes=0-999999999", 0, size - 1),
        ]:
            response = client.get(url, headers={**viewer, "Range": header})
            assert response.status_code == 206, header
            assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
            assert response.content == video_bytes[first : last + 1]
            assert int(response.headers["content-length"]) == last + 1 - first
        for header in [f"bytes={size}-", f"bytes={size}-{size + 10}", "bytes=-0"]:
            response = client.get(url, headers={**viewer, "Range": header})
            assert response.status_code == 416, header
            assert response.headers["content-range"] == f"bytes */{size}"


def test_a_signed_stream_link_plays_without_a_token_for_that_video_only(
    client: TestClient, upload: Upload, viewer: dict, video_bytes: bytes
) -> None:
    video, other = upload(), upload()
    response = client.get(f"/api/videos/{video['id']}/stream-link", headers=viewer)
    assert response.status_code == 200, response.text
    link = response.json()
    assert link["url"].startswith(f"/api/videos/{video['id']}/stream?")
    assert link["expiresAt"].endswith("Z")

    played = client.get(link["url"], headers={"Range": "bytes=0-9"})
    assert played.status_code == 206
    assert played.content == video_bytes[:10]
    assert client.get(link["url"]).content == video_bytes

    query = link["url"].split("?", 1)[1]
    assert client.get(f"/api/videos/{other['id']}/stream?{query}").status_code == 401
    tampered = link["url"].replace("signature=", "signature=0")
    assert client.get(tampered).status_code == 401
    assert client.get(f"/api/videos/{video['id']}/stream").status_code == 401
    assert client.get(f"/api/videos/{video['id']}/stream-link").status_code == 401
    assert client.get("/api/videos/nope/stream-link", headers=viewer).status_code == 404


def test_update_renames_and_overrides_the_frame_rate_of_an_unannotated_video(
    client: TestClient, operator: dict[str, str], upload: Callable[..., dict[str, Any]]
) -> None:
    video = upload()

    renamed = client.put(
        f"/api/videos/{video['id']}", json={"filename": "dusk.mp4"}, headers=operator
    )
    slowed = client.put(f"/api/videos/{video['id']}", json={"fps": 5}, headers=operator)

    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["filename"] == "dusk.mp4" and renamed.json()["fps"] == video["fps"]
    assert slowed.status_code == 200, slowed.text
    assert slowed.json()["fps"] == 5
    assert slowed.json()["durationS"] == pytest.approx(video["frameCount"] / 5)
    assert slowed.json()["filename"] == "dusk.mp4"


def test_update_refuses_a_new_frame_rate_once_annotated_and_bad_values(
    client: TestClient,
    operator: dict[str, str],
    annotator: dict[str, str],
    upload: Callable[..., dict[str, Any]],
) -> None:
    video = upload()
    box = {"x": 1, "y": 1, "width": 5, "height": 5}
    created = client.post(
        f"/api/videos/{video['id']}/annotations",
        json={"detectionId": "P1", "frameNumber": 2, "vruType": "pedestrian", "boundingBox": box},
        headers=annotator,
    )
    assert created.status_code == 201, created.text
    path = f"/api/videos/{video['id']}"

    refused = client.put(path, json={"fps": 25}, headers=operator)
    same = client.put(path, json={"fps": video["fps"], "filename": "kept.mp4"}, headers=operator)

    assert refused.status_code == 409 and "annotation" in refused.json()["detail"]
    assert same.status_code == 200 and same.json()["filename"] == "kept.mp4"
    for body, field in (({"fps": 0}, "fps"), ({"filename": None}, "filename")):
        bad = client.put(path, json=body, headers=operator)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", field]
    assert client.put(path, json={"filename": "x"}, headers=annotator).status_code == 403
