"""``POST /api/datasets/export`` (issue 5, item 1): one zip, a folder per video holding exactly
the single-video export, and report.json; selection by project, by list, or everything."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from central.auth import Role
from central.db.models import Video, VideoProjectLink
from tests.integration.central.datasets.conftest import box


@dataclass
class Library:
    project_id: str
    uploaded: Video
    linked: Video
    other: Video


@pytest.fixture
def library(
    make_project: Callable[..., dict[str, Any]],
    small_video: Callable[..., Video],
    annotate: Callable[..., None],
    db_session: Session,
) -> Library:
    """A project with a video uploaded into it and a library video linked to it, and a video
    outside the project; each with ground truth."""
    project_id = make_project()["id"]
    uploaded = small_video(project_id=project_id, filename="uploaded.mp4")
    linked = small_video(filename="linked.mp4")
    other = small_video(filename="other.mp4")
    db_session.add(VideoProjectLink(video_id=linked.id, project_id=project_id))
    db_session.commit()
    annotate(uploaded.id, [box("P1", 0, 1, 1, 10, 10), box("P1", 1, 2, 2, 10, 10)])
    annotate(linked.id, [box("C1", 3, 40, 30, 20, 10, "cyclist", notes="by the kerb")])
    annotate(other.id, [box("W1", 5, 1, 1, 5, 5, "wheelchair_user")])
    return Library(project_id, uploaded, linked, other)


def export_dataset(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/api/datasets/export", json=body, headers=headers)


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def single_export(client: TestClient, headers: dict[str, str], video: Video, fmt: str) -> bytes:
    response = client.get(
        f"/api/videos/{video.id}/annotations/export", params={"format": fmt}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize(
    ("fmt", "extension"), [("coco", ".coco.json"), ("yolo", ".yolo.zip"), ("mot", ".mot.zip")]
)
def test_project_export_holds_each_video_as_its_single_export(
    fmt: str, extension: str, client: TestClient, viewer: dict[str, str], library: Library
) -> None:
    response = export_dataset(client, viewer, format=fmt, projectId=library.project_id)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    header = orjson.loads(response.headers["X-Export-Report"])
    assert (header["format"], header["videos"], header["storedAnnotations"]) == (fmt, 2, 3)

    files = entries(response.content)
    uploaded = f"{library.uploaded.id}/uploaded{extension}"
    linked = f"{library.linked.id}/linked{extension}"
    assert set(files) == {uploaded, linked, "report.json"}
    assert files[uploaded] == single_export(client, viewer, library.uploaded, fmt)
    assert files[linked] == single_export(client, viewer, library.linked, fmt)

    report = orjson.loads(files["report.json"])
    assert [v["path"] for v in report["videos"]] == [uploaded, linked]
    assert report["totals"]["annotations"] == 3
    not_carried = report["totals"]["notRepresented"]
    assert not_carried["notes"] == 1
    if fmt == "yolo":
        assert not_carried["track_id"] == 3


def test_listed_videos_come_in_the_order_given_and_import_back(
    client: TestClient,
    viewer: dict[str, str],
    annotator: dict[str, str],
    library: Library,
    small_video: Callable[..., Video],
) -> None:
    ids = [library.other.id, library.uploaded.id]
    response = export_dataset(client, viewer, format="json", videoIds=ids)
    assert response.status_code == 200, response.text
    files = entries(response.content)
    report = orjson.loads(files["report.json"])
    assert [v["videoId"] for v in report["videos"]] == ids

    target = small_video()
    document = files[f"{library.other.id}/other.json"]
    imported = client.post(
        f"/api/videos/{target.id}/annotations/import",
        files={"file": ("other.json", document)},
        headers=annotator,
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 1


def test_without_a_selection_every_video_is_exported(
    client: TestClient, viewer: dict[str, str], library: Library
) -> None:
    response = export_dataset(client, viewer, format="pascal_voc")
    assert response.status_code == 200, response.text
    folders = {name.split("/")[0] for name in entries(response.content) if "/" in name}
    assert folders == {library.uploaded.id, library.linked.id, library.other.id}


def test_selection_errors_are_refused_before_streaming(
    client: TestClient,
    auth_headers: dict[Role, dict[str, str]],
    library: Library,
    small_video: Callable[..., Video],
) -> None:
    viewer = auth_headers[Role.VIEWER]
    unknown = export_dataset(client, viewer, videoIds=[library.other.id, "nope"])
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    assert export_dataset(client, viewer, projectId="nope").status_code == 404
    both = export_dataset(client, viewer, projectId=library.project_id, videoIds=[library.other.id])
    assert both.status_code == 422
    assert export_dataset(client, viewer, format="csv").status_code == 422
    assert client.post("/api/datasets/export", json={}).status_code == 401

    sizeless = small_video(width=None, height=None)
    refused = export_dataset(client, viewer, format="yolo", videoIds=[sizeless.id])
    assert refused.status_code == 409 and "width and height" in refused.json()["detail"]
    single = client.get(
        f"/api/videos/{sizeless.id}/annotations/export", params={"format": "yolo"}, headers=viewer
    )
    assert single.status_code == 409
    as_json = export_dataset(client, viewer, format="json", videoIds=[sizeless.id])
    assert as_json.status_code == 200


def test_single_export_errors(client: TestClient, auth_headers: dict[Role, dict[str, str]]) -> None:
    url = "/api/videos/nope/annotations/export"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth_headers[Role.VIEWER]).status_code == 404
    response = client.get(url, params={"format": "xml"}, headers=auth_headers[Role.VIEWER])
    assert response.status_code == 422


def test_a_project_without_videos_exports_just_the_report(
    client: TestClient, viewer: dict[str, str], make_project: Callable[..., dict[str, Any]]
) -> None:
    response = export_dataset(client, viewer, format="coco", projectId=make_project()["id"])
    assert response.status_code == 200, response.text
    files = entries(response.content)
    assert list(files) == ["report.json"]
    report = orjson.loads(files["report.json"])
    assert report["videos"] == [] and report["totals"]["annotations"] == 0


def test_a_json_client_gets_a_description_whose_url_streams_the_same_zip(
    client: TestClient, viewer: dict[str, str], library: Library
) -> None:
    body = {"format": "coco", "projectId": library.project_id}
    zipped = client.post("/api/datasets/export", json=body, headers=viewer)
    described = client.post(
        "/api/datasets/export", json=body, headers={**viewer, "Accept": "application/json"}
    )

    assert described.status_code == 200, described.text
    assert described.headers["content-type"] == "application/json"
    offer = described.json()
    assert (offer["format"], offer["videoCount"], offer["annotationCount"]) == ("coco", 2, 3)
    assert offer["downloadUrl"].startswith(f"/api/datasets/export/{offer['id']}/download?")
    download = client.get(offer["downloadUrl"])  # no token: the signed URL is the credential
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/zip"
    assert entries(download.content) == entries(zipped.content)


def test_a_download_url_with_a_bad_signature_or_id_is_refused(
    client: TestClient, viewer: dict[str, str], library: Library
) -> None:
    offer = client.post(
        "/api/datasets/export",
        json={"format": "json"},
        headers={**viewer, "Accept": "application/json"},
    ).json()
    forged = offer["downloadUrl"].replace("signature=", "signature=0")
    other_id = offer["downloadUrl"].replace(offer["id"], "0" * 36)

    assert client.get(forged).status_code == 401
    assert client.get(other_id).status_code == 401
    refused = client.post(
        "/api/datasets/export",
        json={"format": "json", "projectId": "nope"},
        headers={**viewer, "Accept": "application/json"},
    )
    assert refused.status_code == 404
