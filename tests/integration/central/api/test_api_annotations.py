"""Ground-truth annotations through the real app and database (ROADMAP.md section 1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from central.db.models import Video

BOX = {"x": 10.0, "y": 20.0, "width": 30.0, "height": 40.0}


def annotation(**fields: Any) -> dict[str, Any]:
    body = {
        "detectionId": "DET_PED_0001",
        "frameNumber": 30,
        "vruType": "pedestrian",
        "boundingBox": BOX,
    }
    return {**body, **fields}


@pytest.fixture
def video(make_video: Callable[..., Video]) -> Video:
    """A 300-frame, 30 fps, 1280x720 video row."""
    return make_video()


@pytest.fixture
def post(client: TestClient, annotator: dict, video: Video) -> Callable[..., Any]:
    def send(**fields: Any) -> Any:
        return client.post(
            f"/api/videos/{video.id}/annotations", json=annotation(**fields), headers=annotator
        )

    return send


def locs(response: Any) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [entry["loc"] for entry in response.json()["detail"]]


class TestCreate:
    def test_frame_only_gets_its_timestamp_and_comes_back_in_camel_case(
        self, post: Callable[..., Any], video: Video
    ) -> None:
        response = post(frameNumber=45, occluded=True, notes="behind a van")
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["videoId"] == video.id
        assert (body["frameNumber"], body["timestamp"]) == (45, 1.5)
        assert body["boundingBox"] == BOX
        assert (body["vruType"], body["occluded"], body["notes"]) == (
            "pedestrian",
            True,
            "behind a van",
        )
        assert body["validated"] is False
        assert body["createdAt"] and body["updatedAt"] is None

    def test_timestamp_only_gets_the_nearest_frame_and_snake_case_is_accepted(
        self, post: Callable[..., Any], client: TestClient, annotator: dict, video: Video
    ) -> None:
        response = post(frameNumber=None, timestamp=2.0)
        assert response.status_code == 201, response.text
        assert response.json()["frameNumber"] == 60
        body = {
            "detection_id": "DET_CYC_0001",
            "frame_number": 3,
            "vru_type": "cyclist",
            "bounding_box": BOX,
        }
        response = client.post(f"/api/videos/{video.id}/annotations", json=body, headers=annotator)
        assert response.status_code == 201, response.text
        assert response.json()["detectionId"] == "DET_CYC_0001"

    def test_bad_frames_and_boxes_are_422_on_the_field(self, post: Callable[..., Any]) -> None:
        for fields, loc in [
            ({"timestamp": 5.0}, ["body", "timestamp"]),  # frame 30 is at 1.0 s, not 5 s
            ({"frameNumber": 300}, ["body", "frameNumber"]),  # the video has frames 0-299
            ({"frameNumber": None}, ["body", "frameNumber"]),  # no timestamp either
            ({"boundingBox": {**BOX, "x": 1270.0}}, ["body", "boundingBox", "width"]),
            ({"boundingBox": {**BOX, "y": 700.0}}, ["body", "boundingBox", "height"]),
            ({"boundingBox": {**BOX, "x": -1.0}}, ["body", "boundingBox", "x"]),
            ({"boundingBox": {**BOX, "width": 0.0}}, ["body", "boundingBox", "width"]),
            ({"boundingBox": {"x": 1, "y": 2, "width": 3}}, ["body", "boundingBox", "height"]),
            ({"vruType": "horse"}, ["body", "vruType"]),
            ({"colour": "red"}, ["body", "colour"]),
        ]:
            assert locs(post(**fields)) == [loc], fields

    def test_box_of_a_video_of_unknown_size_is_not_bounded(
        self, client: TestClient, annotator: dict, make_video: Callable[..., Video]
    ) -> None:
        unsized = make_video(width=None, height=None)
        response = client.post(
            f"/api/videos/{unsized.id}/annotations",
            json=annotation(boundingBox={**BOX, "x": 5000.0}),
            headers=annotator,
        )
        assert response.status_code == 201, response.text

    def test_text_no_database_can_store_is_422_on_its_field(self, post: Callable[..., Any]) -> None:
        assert locs(post(detectionId="DET\x00", notes="a\x00b")) == [
            ["body", "detectionId"],
            ["body", "notes"],
        ]

    def test_same_detection_twice_on_one_frame_is_409(self, post: Callable[..., Any]) -> None:
        assert post().status_code == 201
        assert post(detectionId="DET_PED_0002").status_code == 201
        assert post(frameNumber=31).status_code == 201
        conflict = post()
        assert conflict.status_code == 409
        assert "DET_PED_0001" in conflict.json()["detail"]

    def test_unknown_video_is_404_and_viewers_cannot_write(
        self, client: TestClient, viewer: dict, annotator: dict, video: Video
    ) -> None:
        response = client.post("/api/videos/nope/annotations", json=annotation(), headers=annotator)
        assert response.status_code == 404
        response = client.post(
            f"/api/videos/{video.id}/annotations", json=annotation(), headers=viewer
        )
        assert response.status_code == 403


class TestList:
    @pytest.fixture
    def stored(self, post: Callable[..., Any], client: TestClient, annotator: dict) -> list[dict]:
        made = []
        for frame, kind in [
            (90, "cyclist"),
            (0, "pedestrian"),
            (30, "pedestrian"),
            (60, "scooter_rider"),
            (30, "cyclist"),
        ]:
            response = post(frameNumber=frame, vruType=kind, detectionId=f"DET_{kind}_{frame}")
            assert response.status_code == 201, response.text
            made.append(response.json())
        validated = made[2]["id"]
        assert (
            client.patch(
                f"/api/annotations/{validated}/validate",
                params={"validated": True},
                headers=annotator,
            ).status_code
            == 200
        )
        return made

    def get(self, client: TestClient, video: Video, viewer: dict, **params: Any) -> Any:
        return client.get(f"/api/videos/{video.id}/annotations", params=params, headers=viewer)

    def frames(self, response: Any) -> list[tuple[int, str]]:
        assert response.status_code == 200, response.text
        return [(a["frameNumber"], a["vruType"]) for a in response.json()]

    def test_all_in_frame_order_with_the_total(
        self, client: TestClient, video: Video, viewer: dict, stored: list
    ) -> None:
        response = self.get(client, video, viewer)
        assert self.frames(response) == [
            (0, "pedestrian"),
            (30, "cyclist"),
            (30, "pedestrian"),
            (60, "scooter_rider"),
            (90, "cyclist"),
        ]
        assert response.headers["X-Total-Count"] == "5"
        for listed in response.json():  # the list writes each exactly as the single GET does
            one = client.get(f"/api/annotations/{listed['id']}", headers=viewer)
            assert one.json() == listed

    def test_filters(self, client: TestClient, video: Video, viewer: dict, stored: list) -> None:
        def frames(**params: Any) -> list[tuple[int, str]]:
            return self.frames(self.get(client, video, viewer, **params))

        assert frames(frameStart=30, frameEnd=60) == [
            (30, "cyclist"),
            (30, "pedestrian"),
            (60, "scooter_rider"),
        ]
        assert frames(timeStart=1.5, timeEnd=3.0) == [(60, "scooter_rider"), (90, "cyclist")]
        assert frames(vruType="cyclist") == [(30, "cyclist"), (90, "cyclist")]
        assert frames(validated=True) == [(30, "pedestrian")]
        assert len(frames(validated=False)) == 4
        assert frames(vruType="pedestrian", frameStart=10) == [(30, "pedestrian")]

    def test_pages(self, client: TestClient, video: Video, viewer: dict, stored: list) -> None:
        first = self.get(client, video, viewer, limit=2)
        second = self.get(client, video, viewer, limit=2, offset=2)
        last = self.get(client, video, viewer, limit=2, offset=4)
        assert self.frames(first) + self.frames(second) + self.frames(last) == self.frames(
            self.get(client, video, viewer)
        )
        assert [r.headers["X-Total-Count"] for r in (first, second, last)] == ["5"] * 3

    def test_bad_filters_are_422(self, client: TestClient, video: Video, viewer: dict) -> None:
        for params in [
            {"frameStart": 10, "frameEnd": 5},
            {"timeStart": 2, "timeEnd": 1},
            {"vruType": "horse"},
            {"limit": 0},
            {"offset": -1},
            {"frameStart": "x"},
        ]:
            assert self.get(client, video, viewer, **params).status_code == 422, params
        assert client.get("/api/videos/nope/annotations", headers=viewer).status_code == 404

    def test_by_detection_follows_a_track_in_frame_order(
        self,
        client: TestClient,
        post: Callable[..., Any],
        viewer: dict,
        video: Video,
        make_video: Callable[..., Video],
        annotator: dict,
    ) -> None:
        for frame in (20, 10, 30):
            assert post(frameNumber=frame, detectionId="DET_TRACK").status_code == 201
        other = make_video()
        assert (
            client.post(
                f"/api/videos/{other.id}/annotations",
                json=annotation(detectionId="DET_TRACK", frameNumber=5),
                headers=annotator,
            ).status_code
            == 201
        )
        track = client.get(
            "/api/annotations/detection/DET_TRACK", params={"videoId": video.id}, headers=viewer
        ).json()
        assert [a["frameNumber"] for a in track] == [10, 20, 30]
        everywhere = client.get("/api/annotations/detection/DET_TRACK", headers=viewer).json()
        assert len(everywhere) == 4
        assert client.get("/api/annotations/detection/NOPE", headers=viewer).json() == []


class TestChange:
    @pytest.fixture
    def stored(self, post: Callable[..., Any]) -> dict[str, Any]:
        response = post()
        assert response.status_code == 201
        body: dict[str, Any] = response.json()
        return body

    def put(self, client: TestClient, annotator: dict, ident: str, **fields: Any) -> Any:
        return client.put(f"/api/annotations/{ident}", json=fields, headers=annotator)

    def test_update_changes_only_what_is_sent(
        self, client: TestClient, annotator: dict, viewer: dict, stored: dict
    ) -> None:
        response = self.put(client, annotator, stored["id"], frameNumber=45, notes="moved")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["frameNumber"], body["timestamp"], body["notes"]) == (45, 1.5, "moved")
        assert body["boundingBox"] == BOX and body["vruType"] == "pedestrian"
        assert body["updatedAt"] is not None
        assert client.get(f"/api/annotations/{stored['id']}", headers=viewer).json() == body
        moved = self.put(client, annotator, stored["id"], timestamp=3.0)
        assert (moved.json()["frameNumber"], moved.json()["notes"]) == (90, "moved")

    def test_bad_updates_are_422_and_change_nothing(
        self, client: TestClient, annotator: dict, viewer: dict, stored: dict
    ) -> None:
        for fields, loc in [
            ({"frameNumber": 999}, ["body", "frameNumber"]),
            ({"boundingBox": {**BOX, "width": 5000.0}}, ["body", "boundingBox", "width"]),
            ({"vruType": "horse"}, ["body", "vruType"]),
            ({"vruType": None}, ["body", "vruType"]),
        ]:
            assert locs(self.put(client, annotator, stored["id"], **fields)) == [loc], fields
        assert client.get(f"/api/annotations/{stored['id']}", headers=viewer).json() == stored

    def test_update_onto_an_existing_detection_on_that_frame_is_409(
        self, client: TestClient, annotator: dict, post: Callable[..., Any], stored: dict
    ) -> None:
        other = post(frameNumber=31).json()
        response = self.put(client, annotator, other["id"], frameNumber=30)
        assert response.status_code == 409

    def test_validate_by_query_or_body(
        self, client: TestClient, annotator: dict, stored: dict
    ) -> None:
        url = f"/api/annotations/{stored['id']}/validate"
        by_query = client.patch(url, params={"validated": "true"}, headers=annotator)
        assert by_query.status_code == 200 and by_query.json()["validated"] is True
        by_body = client.patch(url, json={"validated": False}, headers=annotator)
        assert by_body.status_code == 200 and by_body.json()["validated"] is False
        assert client.patch(url, headers=annotator).status_code == 422
        disagree = client.patch(
            url, params={"validated": True}, json={"validated": False}, headers=annotator
        )
        assert disagree.status_code == 422

    def test_delete_and_then_404(
        self, client: TestClient, annotator: dict, viewer: dict, stored: dict
    ) -> None:
        url = f"/api/annotations/{stored['id']}"
        assert client.delete(url, headers=annotator).status_code == 204
        assert client.get(url, headers=viewer).status_code == 404
        assert client.delete(url, headers=annotator).status_code == 404
        assert self.put(client, annotator, stored["id"], notes="x").status_code == 404
        assert (
            client.patch(
                f"{url}/validate", params={"validated": True}, headers=annotator
            ).status_code
            == 404
        )


class TestBulk:
    def rows(self, count: int, **fields: Any) -> list[dict[str, Any]]:
        return [
            annotation(frameNumber=i % 300, detectionId=f"DET_{i // 300:04d}", **fields)
            for i in range(count)
        ]

    def send(self, client: TestClient, annotator: dict, video: Video, rows: Any) -> Any:
        return client.post(
            f"/api/videos/{video.id}/annotations/bulk",
            json={"annotations": rows},
            headers=annotator,
        )

    def count(self, client: TestClient, viewer: dict, video: Video) -> int:
        response = client.get(
            f"/api/videos/{video.id}/annotations", params={"limit": 1}, headers=viewer
        )
        return int(response.headers["X-Total-Count"])

    def test_thousands_in_one_request(
        self, client: TestClient, annotator: dict, viewer: dict, video: Video
    ) -> None:
        rows = self.rows(2000)
        response = self.send(client, annotator, video, rows)
        assert response.status_code == 201, response.text
        assert response.json() == {"videoId": video.id, "created": 2000}
        listed = client.get(f"/api/videos/{video.id}/annotations", headers=viewer).json()
        assert len(listed) == 2000
        assert {(a["frameNumber"], a["detectionId"]) for a in listed} == {
            (r["frameNumber"], r["detectionId"]) for r in rows
        }
        assert all(a["timestamp"] == pytest.approx(a["frameNumber"] / 30) for a in listed)

    def test_every_bad_row_is_reported_and_nothing_is_written(
        self, client: TestClient, annotator: dict, viewer: dict, video: Video
    ) -> None:
        rows = self.rows(10)
        rows[3]["frameNumber"] = 1000
        rows[7]["boundingBox"] = {**BOX, "x": 1279.0}
        assert locs(self.send(client, annotator, video, rows)) == [
            ["body", "annotations", 3, "frameNumber"],
            ["body", "annotations", 7, "boundingBox", "width"],
        ]
        assert self.count(client, viewer, video) == 0
        rows = self.rows(5)
        rows[2]["vruType"] = "horse"
        assert locs(self.send(client, annotator, video, rows)) == [
            ["body", "annotations", 2, "vruType"]
        ]
        assert self.count(client, viewer, video) == 0

    def test_a_request_of_many_bad_rows_reports_the_first_and_a_count(
        self, client: TestClient, annotator: dict, video: Video, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("central.services.annotations.MAX_REPORTED_PROBLEMS", 3)
        rows = self.rows(10)
        for row in rows:
            row["frameNumber"] += 1000
        problems = self.send(client, annotator, video, rows).json()["detail"]
        assert [p["loc"] for p in problems[:3]] == [
            ["body", "annotations", index, "frameNumber"] for index in range(3)
        ]
        assert problems[3]["loc"] == ["body", "annotations"]
        assert "7 more" in problems[3]["msg"]
        assert len(problems) == 4

    def test_a_repeat_inside_the_request_is_409_and_nothing_is_written(
        self, client: TestClient, annotator: dict, viewer: dict, video: Video
    ) -> None:
        rows = self.rows(10)
        rows[9] = dict(rows[4])
        response = self.send(client, annotator, video, rows)
        assert response.status_code == 409
        assert "4 and 9" in response.json()["detail"]
        assert self.count(client, viewer, video) == 0

    def test_a_repeat_of_a_stored_annotation_is_409_and_nothing_is_written(
        self,
        client: TestClient,
        annotator: dict,
        viewer: dict,
        video: Video,
        post: Callable[..., Any],
    ) -> None:
        assert post(frameNumber=7, detectionId="DET_0000").status_code == 201
        response = self.send(client, annotator, video, self.rows(10))
        assert response.status_code == 409
        assert self.count(client, viewer, video) == 1

    def test_a_body_over_the_limit_is_413_and_nothing_is_written(
        self,
        client: TestClient,
        annotator: dict,
        viewer: dict,
        video: Video,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr("central.api.routes.annotations.BULK_BODY_MAX", 10_000)
        assert self.send(client, annotator, video, self.rows(500)).status_code == 413
        assert self.count(client, viewer, video) == 0
        assert self.send(client, annotator, video, self.rows(5)).status_code == 201

    def test_malformed_or_empty_bodies_are_422_and_unknown_video_404(
        self, client: TestClient, annotator: dict, video: Video
    ) -> None:
        for body in [b"{not json", b"[]", b'{"annotations": []}']:
            response = client.post(
                f"/api/videos/{video.id}/annotations/bulk",
                content=body,
                headers={**annotator, "Content-Type": "application/json"},
            )
            assert response.status_code == 422, body
        response = client.post(
            "/api/videos/nope/annotations/bulk",
            json={"annotations": self.rows(1)},
            headers=annotator,
        )
        assert response.status_code == 404
