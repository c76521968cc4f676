"""/api/test-sessions, the base object: create with or without an execution config, list, read,
delete, and the errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.auth import Role
from central.db.models import TestExecutionConfig, TestSession, Video

Headers = dict[Role, dict[str, str]]
MakeProject = Callable[..., dict[str, Any]]
MakeVideo = Callable[..., Video]
MakeSession = Callable[..., dict[str, Any]]


def test_create_with_an_execution_config_fills_its_defaults(
    client: TestClient, auth_headers: Headers, make_project: MakeProject, make_video: MakeVideo
) -> None:
    project = make_project()
    video = make_video(project["id"])

    response = client.post(
        "/api/test-sessions",
        json={
            "name": "night run",
            "projectId": project["id"],
            "video_id": video.id,
            "rigId": "rig-7",
            "executionConfig": {"signalType": "GPIO", "toleranceMs": 150, "channels": ["det0"]},
        },
        headers=auth_headers[Role.OPERATOR],
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["projectId"], body["videoId"], body["rigId"]) == (
        "night run",
        project["id"],
        video.id,
        "rig-7",
    )
    assert body["status"] == "pending"
    assert body["startedAt"] is None and body["results"] is None
    config = body["executionConfig"]
    assert config["signalType"] == "gpio", "stored under the protocol's source name"
    assert config["toleranceMs"] == 150
    assert config["channels"] == ["det0"]
    assert (config["testDuration"], config["maxLatencyMs"], config["minAccuracy"]) == (
        300,
        200,
        0.9,
    )
    assert (config["mode"], config["iouThreshold"], config["syncChannel"]) == (
        "temporal",
        0.5,
        None,
    )
    fetched = client.get(f"/api/test-sessions/{body['id']}", headers=auth_headers[Role.VIEWER])
    assert fetched.json() == body


def test_create_without_a_config(make_test_session: MakeSession) -> None:
    assert make_test_session()["executionConfig"] is None


@pytest.mark.parametrize("missing", ["projectId", "videoId"])
def test_an_unknown_project_or_video_is_404_and_stores_nothing(
    client: TestClient,
    auth_headers: Headers,
    make_project: MakeProject,
    make_video: MakeVideo,
    db_session: Session,
    missing: str,
) -> None:
    project = make_project()
    body = {
        "name": "r",
        "projectId": project["id"],
        "videoId": make_video(project["id"]).id,
        "rigId": "rig-1",
        "executionConfig": {"signalType": "can"},
    }
    body[missing] = "does-not-exist"

    response = client.post("/api/test-sessions", json=body, headers=auth_headers[Role.OPERATOR])

    assert response.status_code == 404
    assert "does-not-exist" in response.json()["detail"]
    assert db_session.scalars(select(TestSession)).all() == []
    assert db_session.scalars(select(TestExecutionConfig)).all() == []


def test_bad_fields_are_422_each_with_its_location(
    client: TestClient, auth_headers: Headers, make_project: MakeProject, make_video: MakeVideo
) -> None:
    project = make_project()
    body = {
        "name": "r",
        "projectId": project["id"],
        "videoId": make_video(project["id"]).id,
        "rigId": "rig/1#",
        "executionConfig": {"signalType": "smoke", "iouThreshold": 2, "mode": "vibes"},
    }

    response = client.post("/api/test-sessions", json=body, headers=auth_headers[Role.OPERATOR])

    assert response.status_code == 422
    locations = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert locations == {
        ("body", "rigId"),
        ("body", "executionConfig", "signalType"),
        ("body", "executionConfig", "iouThreshold"),
        ("body", "executionConfig", "mode"),
    }


def test_list_filters_by_project_and_status_and_pages(
    client: TestClient,
    auth_headers: Headers,
    make_project: MakeProject,
    make_test_session: MakeSession,
    db_session: Session,
) -> None:
    project = make_project()
    ours = [make_test_session(projectId=project["id"])["id"] for _ in range(3)]
    make_test_session()
    db_session.get(TestSession, ours[0]).status = "completed"  # type: ignore[union-attr]
    db_session.commit()
    viewer = auth_headers[Role.VIEWER]

    everything = client.get("/api/test-sessions", headers=viewer)
    of_project = client.get(
        "/api/test-sessions", params={"projectId": project["id"]}, headers=viewer
    )
    completed = client.get(
        "/api/test-sessions",
        params={"projectId": project["id"], "status": "completed"},
        headers=viewer,
    )
    page = client.get(
        "/api/test-sessions",
        params={"projectId": project["id"], "limit": 1, "offset": 1},
        headers=viewer,
    )

    assert everything.headers["X-Total-Count"] == "4"
    assert [s["id"] for s in of_project.json()] == list(reversed(ours))
    assert [s["id"] for s in completed.json()] == [ours[0]]
    assert page.headers["X-Total-Count"] == "3"
    assert [s["id"] for s in page.json()] == [ours[1]]
    assert client.get("/api/test-sessions?status=bogus", headers=viewer).status_code == 422


def test_delete_removes_the_session_and_its_config(
    client: TestClient, auth_headers: Headers, make_test_session: MakeSession, db_session: Session
) -> None:
    session = make_test_session(executionConfig={"signalType": "serial"})
    operator = auth_headers[Role.OPERATOR]

    assert client.delete(f"/api/test-sessions/{session['id']}", headers=operator).status_code == 204
    assert client.get(f"/api/test-sessions/{session['id']}", headers=operator).status_code == 404
    assert client.delete(f"/api/test-sessions/{session['id']}", headers=operator).status_code == 404
    assert db_session.scalars(select(TestExecutionConfig)).all() == []


def test_a_running_session_cannot_be_deleted(
    client: TestClient, auth_headers: Headers, make_test_session: MakeSession, db_session: Session
) -> None:
    session = make_test_session()
    db_session.get(TestSession, session["id"]).status = "running"  # type: ignore[union-attr]
    db_session.commit()

    response = client.delete(
        f"/api/test-sessions/{session['id']}", headers=auth_headers[Role.ADMIN]
    )

    assert response.status_code == 409
    assert "running" in response.json()["detail"]
    assert (
        client.get(
            f"/api/test-sessions/{session['id']}", headers=auth_headers[Role.ADMIN]
        ).status_code
        == 200
    )


def test_a_video_a_session_ran_on_cannot_be_deleted_under_it(
    make_test_session: MakeSession, db_session: Session
) -> None:
    session = make_test_session()
    video = db_session.get(Video, session["videoId"])

    db_session.delete(video)
    with pytest.raises(IntegrityError):
        db_session.commit()


def test_update_renames_describes_and_replaces_the_config_of_a_session_not_running(
    client: TestClient, auth_headers: Headers, make_test_session: MakeSession
) -> None:
    created = make_test_session(executionConfig={"signalType": "gpio", "toleranceMs": 50})
    operator = auth_headers[Role.OPERATOR]
    path = f"/api/test-sessions/{created['id']}"

    renamed = client.put(path, json={"name": " dusk ", "description": "wet road"}, headers=operator)
    reconfigured = client.put(
        path, json={"executionConfig": {"signalType": "CAN"}}, headers=operator
    )
    unconfigured = client.put(path, json={"executionConfig": None}, headers=operator)

    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["description"]) == ("dusk", "wet road")
    assert renamed.json()["executionConfig"]["toleranceMs"] == 50, "a config not sent stays"
    config = reconfigured.json()["executionConfig"]
    assert (config["signalType"], config["toleranceMs"]) == ("can", 100), "replaced whole"
    assert reconfigured.json()["name"] == "dusk"
    assert unconfigured.json()["executionConfig"] is None
    assert client.get(path, headers=auth_headers[Role.VIEWER]).json()["description"] == "wet road"


def test_update_refuses_a_running_session_a_cleared_name_and_viewers(
    client: TestClient, auth_headers: Headers, make_test_session: MakeSession, db_session: Session
) -> None:
    created = make_test_session()
    path = f"/api/test-sessions/{created['id']}"
    operator = auth_headers[Role.OPERATOR]

    cleared = client.put(path, json={"name": None}, headers=operator)
    by_viewer = client.put(path, json={"name": "x"}, headers=auth_headers[Role.VIEWER])
    db_session.get(TestSession, created["id"]).status = "running"  # type: ignore[union-attr]
    db_session.commit()
    running = client.put(path, json={"name": "x"}, headers=operator)

    assert cleared.status_code == 422 and cleared.json()["detail"][0]["loc"] == ["body", "name"]
    assert by_viewer.status_code == 403
    assert running.status_code == 409 and "running" in running.json()["detail"]
    assert client.put("/api/test-sessions/nope", json={}, headers=operator).status_code == 404
