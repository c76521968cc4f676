"""Linking ground-truth library videos to projects (ROADMAP.md section 3), real app and database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from central.db.models import Video


@pytest.fixture
def project(make_project: Callable[..., dict]) -> dict[str, Any]:
    return make_project()


@pytest.fixture
def library(make_video: Callable[..., Video]) -> list[Video]:
    return [make_video(), make_video()]


def link(client: TestClient, headers: dict, project_id: str, video_ids: list[str], **extra: Any):
    return client.post(
        f"/api/projects/{project_id}/videos/link",
        json={"videoIds": video_ids, **extra},
        headers=headers,
    )


def linked_ids(client: TestClient, headers: dict, project_id: str) -> list[str]:
    response = client.get(f"/api/projects/{project_id}/videos/linked", headers=headers)
    assert response.status_code == 200, response.text
    return [v["id"] for v in response.json()]


def test_available_lists_only_library_videos_which_alone_can_be_linked(
    client: TestClient,
    viewer: dict,
    operator: dict,
    library: list[Video],
    project: dict,
    make_video: Callable[..., Video],
    make_project: Callable[..., dict],
) -> None:
    make_video(project["id"])
    response = client.get("/api/ground-truth/videos/available", headers=viewer)
    assert sorted(v["id"] for v in response.json()) == sorted(v.id for v in library)
    assert response.headers["X-Total-Count"] == "2"
    owned = make_video(make_project()["id"])
    assert link(client, operator, project["id"], [owned.id]).status_code == 409


def test_link_then_list_then_unlink(
    client: TestClient, operator: dict, viewer: dict, library: list[Video], project: dict
) -> None:
    ids = [v.id for v in library]
    response = link(client, operator, project["id"], ids, assignmentReason="night scenes")
    assert response.status_code == 201, response.text
    made = response.json()
    assert [a["videoId"] for a in made] == ids
    assert all(a["projectId"] == project["id"] for a in made)
    assert all(a["assignmentReason"] == "night scenes" for a in made)
    assert all(a["intelligentMatch"] is False for a in made)
    assert [a["video"]["id"] for a in made] == ids
    assert sorted(linked_ids(client, viewer, project["id"])) == sorted(ids)

    unlink = f"/api/projects/{project['id']}/videos/{ids[0]}/unlink"
    assert client.delete(unlink, headers=operator).status_code == 204
    assert linked_ids(client, viewer, project["id"]) == [ids[1]]
    assert client.delete(unlink, headers=operator).status_code == 404


def test_one_video_serves_many_projects(
    client: TestClient,
    operator: dict,
    viewer: dict,
    library: list[Video],
    make_project: Callable[..., dict],
) -> None:
    first, second = make_project(), make_project()
    assert link(client, operator, first["id"], [library[0].id]).status_code == 201
    assert link(client, operator, second["id"], [library[0].id]).status_code == 201
    assert linked_ids(client, viewer, second["id"]) == [library[0].id]


def test_linking_twice_is_409_and_links_nothing_new(
    client: TestClient, operator: dict, viewer: dict, library: list[Video], project: dict
) -> None:
    assert link(client, operator, project["id"], [library[0].id]).status_code == 201
    response = link(client, operator, project["id"], [library[1].id, library[0].id])
    assert response.status_code == 409
    assert library[0].id in response.json()["detail"]
    assert linked_ids(client, viewer, project["id"]) == [library[0].id]


def test_unknown_ids_are_404_and_link_nothing(
    client: TestClient, operator: dict, viewer: dict, library: list[Video], project: dict
) -> None:
    response = link(client, operator, project["id"], [library[0].id, "nope"])
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]
    assert linked_ids(client, viewer, project["id"]) == []
    assert link(client, operator, "nope", [library[0].id]).status_code == 404
    assert client.get("/api/projects/nope/videos/linked", headers=viewer).status_code == 404
    assert (
        client.delete(
            f"/api/projects/nope/videos/{library[0].id}/unlink", headers=operator
        ).status_code
        == 404
    )


def test_bad_requests_are_422_and_linking_needs_an_operator(
    client: TestClient, operator: dict, annotator: dict, library: list[Video], project: dict
) -> None:
    assert link(client, annotator, project["id"], [library[0].id]).status_code == 403
    twice = link(client, operator, project["id"], [library[0].id, library[0].id])
    assert twice.status_code == 422
    assert twice.json()["detail"][0]["loc"] == ["body", "videoIds", "1"]
    assert link(client, operator, project["id"], []).status_code == 422
    no_ids = client.post(f"/api/projects/{project['id']}/videos/link", json={}, headers=operator)
    assert no_ids.status_code == 422


def test_deleting_a_video_removes_its_links(
    client: TestClient, operator: dict, viewer: dict, upload: Callable[..., dict], project: dict
) -> None:
    video = upload()
    assert link(client, operator, project["id"], [video["id"]]).status_code == 201
    assert client.delete(f"/api/videos/{video['id']}", headers=operator).status_code == 204
    assert linked_ids(client, viewer, project["id"]) == []
