"""Annotation sessions through the real app and database; totals always match the annotations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from central.db.models import Video

BOX = {"x": 1.0, "y": 1.0, "width": 5.0, "height": 5.0}


@pytest.fixture
def video(make_video: Callable[..., Video]) -> Video:
    return make_video()


@pytest.fixture
def session_json(client: TestClient, annotator: dict, video: Video) -> dict[str, Any]:
    response = client.post(
        "/api/annotation-sessions",
        json={"videoId": video.id, "annotatorId": "alice", "currentFrame": 12},
        headers=annotator,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_starts_active_with_totals_of_the_video(session_json: dict, video: Video) -> None:
    assert session_json["videoId"] == video.id
    assert (session_json["status"], session_json["annotatorId"]) == ("active", "alice")
    assert session_json["currentFrame"] == 12
    assert (session_json["totalDetections"], session_json["validatedDetections"]) == (0, 0)


def test_totals_follow_every_change_of_the_annotations(
    client: TestClient, annotator: dict, viewer: dict, video: Video, session_json: dict
) -> None:
    url = f"/api/annotation-sessions/{session_json['id']}"

    def totals() -> tuple[int, int]:
        body = client.get(url, headers=viewer).json()
        listed = client.get(
            "/api/annotation-sessions", params={"videoId": video.id}, headers=viewer
        ).json()
        assert [(s["totalDetections"], s["validatedDetections"]) for s in listed] == [
            (body["totalDetections"], body["validatedDetections"])
        ]
        return body["totalDetections"], body["validatedDetections"]

    ids = []
    for frame in (1, 2, 3):
        response = client.post(
            f"/api/videos/{video.id}/annotations",
            json={
                "detectionId": "DET_1",
                "frameNumber": frame,
                "vruType": "cyclist",
                "boundingBox": BOX,
            },
            headers=annotator,
        )
        ids.append(response.json()["id"])
    assert totals() == (3, 0)
    client.patch(f"/api/annotations/{ids[0]}/validate", json={"validated": True}, headers=annotator)
    assert totals() == (3, 1)
    bulk = [
        {
            "detectionId": "DET_2",
            "frameNumber": f,
            "vruType": "pedestrian",
            "boundingBox": BOX,
            "validated": True,
        }
        for f in range(10)
    ]
    client.post(
        f"/api/videos/{video.id}/annotations/bulk", json={"annotations": bulk}, headers=annotator
    )
    assert totals() == (13, 11)
    client.delete(f"/api/annotations/{ids[0]}", headers=annotator)
    assert totals() == (12, 10)


def test_list_filters_by_video(
    client: TestClient,
    annotator: dict,
    viewer: dict,
    make_video: Callable[..., Video],
    session_json: dict,
    video: Video,
) -> None:
    other = make_video()
    assert (
        client.post(
            "/api/annotation-sessions", json={"videoId": other.id}, headers=annotator
        ).status_code
        == 201
    )
    every = client.get("/api/annotation-sessions", headers=viewer)
    assert len(every.json()) == 2 and every.headers["X-Total-Count"] == "2"
    mine = client.get("/api/annotation-sessions", params={"videoId": video.id}, headers=viewer)
    assert [s["id"] for s in mine.json()] == [session_json["id"]]
    assert mine.headers["X-Total-Count"] == "1"


def test_update_changes_what_is_sent_and_ignores_sent_totals(
    client: TestClient, annotator: dict, session_json: dict
) -> None:
    url = f"/api/annotation-sessions/{session_json['id']}"
    response = client.put(
        url,
        json={"status": "paused", "currentFrame": 200, "totalDetections": 99},
        headers=annotator,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["currentFrame"], body["annotatorId"]) == ("paused", 200, "alice")
    assert body["totalDetections"] == 0
    assert body["updatedAt"] is not None


def test_bad_input_is_422_and_unknown_ids_404(
    client: TestClient, annotator: dict, viewer: dict, session_json: dict
) -> None:
    url = f"/api/annotation-sessions/{session_json['id']}"
    for body, loc in [
        ({"status": "asleep"}, ["body", "status"]),
        ({"currentFrame": 300}, ["body", "currentFrame"]),
        ({"currentFrame": -1}, ["body", "currentFrame"]),
    ]:
        response = client.put(url, json=body, headers=annotator)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"] == loc
    assert client.get(url, headers=viewer).json() == session_json

    assert (
        client.post(
            "/api/annotation-sessions", json={"videoId": "nope"}, headers=annotator
        ).status_code
        == 404
    )
    assert client.get("/api/annotation-sessions/nope", headers=viewer).status_code == 404
    unknown = client.put("/api/annotation-sessions/nope", json={}, headers=annotator)
    assert unknown.status_code == 404
    assert client.delete("/api/annotation-sessions/nope", headers=annotator).status_code == 404


def test_delete(client: TestClient, annotator: dict, viewer: dict, session_json: dict) -> None:
    url = f"/api/annotation-sessions/{session_json['id']}"
    assert client.delete(url, headers=viewer).status_code == 403
    assert client.delete(url, headers=annotator).status_code == 204
    assert client.get(url, headers=viewer).status_code == 404
