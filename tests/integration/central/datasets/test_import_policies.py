"""Import conflict policies and dry runs (issue 5, item 2): counts, and what is stored after."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from central.db.models import Video
from tests.integration.central.datasets.conftest import box

STORED = [box("A", 0, 1, 1, 10, 10), box("B", 1, 2, 2, 10, 10)]
FILE = [box("A", 0, 5, 5, 20, 20, "cyclist"), box("C", 2, 3, 3, 10, 10)]

# policy -> (created, updated, skipped, deleted, unchanged), then (track, frame) -> box x stored
EXPECTED: dict[str, tuple[tuple[int, ...], dict[tuple[str, int], float]]] = {
    "skip": ((1, 0, 1, 0, 2), {("A", 0): 1, ("B", 1): 2, ("C", 2): 3}),
    "merge": ((1, 1, 0, 0, 1), {("A", 0): 5, ("B", 1): 2, ("C", 2): 3}),
    "replace": ((2, 0, 0, 2, 0), {("A", 0): 5, ("C", 2): 3}),
}


def stored(client: TestClient, headers: dict[str, str], video_id: str) -> dict[Any, float]:
    rows = client.get(f"/api/videos/{video_id}/annotations", headers=headers).json()
    return {(r["detectionId"], r["frameNumber"]): r["boundingBox"]["x"] for r in rows}


def send(
    client: TestClient, headers: dict[str, str], video_id: str, **params: Any
) -> dict[str, Any]:
    response = client.post(
        f"/api/videos/{video_id}/annotations/import",
        params={"format": "json", **params},
        files={"file": ("ground_truth.json", orjson.dumps({"annotations": FILE}))},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("policy", ["skip", "merge", "replace"])
def test_dry_run_answers_what_the_import_then_does(
    policy: str,
    client: TestClient,
    small_video: Callable[..., Video],
    annotate: Callable[..., None],
    annotator: dict[str, str],
    viewer: dict[str, str],
) -> None:
    video = small_video()
    annotate(video.id, STORED)
    before = stored(client, viewer, video.id)
    counts, after = EXPECTED[policy]
    names = ("created", "updated", "skipped", "deleted", "unchanged")

    dry = send(client, annotator, video.id, onConflict=policy, dryRun="true")
    assert dry["dryRun"] is True and dry["onConflict"] == policy
    assert tuple(dry[name] for name in names) == counts
    assert stored(client, viewer, video.id) == before

    real = send(client, annotator, video.id, onConflict=policy)
    assert real["dryRun"] is False
    assert tuple(real[name] for name in names) == counts
    assert stored(client, viewer, video.id) == after


def test_merge_overwrites_fields_of_a_matching_row_but_keeps_its_id(
    client: TestClient,
    small_video: Callable[..., Video],
    annotate: Callable[..., None],
    annotator: dict[str, str],
    viewer: dict[str, str],
) -> None:
    video = small_video()
    annotate(video.id, STORED)
    rows = client.get(f"/api/videos/{video.id}/annotations", headers=viewer).json()
    first_id = rows[0]["id"]
    send(client, annotator, video.id, onConflict="merge")
    merged = client.get(f"/api/annotations/{first_id}", headers=viewer).json()
    assert merged["vruType"] == "cyclist"
    assert merged["boundingBox"] == {"x": 5.0, "y": 5.0, "width": 20.0, "height": 20.0}
    assert merged["updatedAt"] is not None


def test_default_policy_is_skip_and_stored_rows_win(
    client: TestClient,
    small_video: Callable[..., Video],
    annotate: Callable[..., None],
    annotator: dict[str, str],
    viewer: dict[str, str],
) -> None:
    video = small_video()
    annotate(video.id, STORED)
    result = send(client, annotator, video.id)
    assert result["onConflict"] == "skip" and result["skipped"] == 1
    assert stored(client, viewer, video.id)[("A", 0)] == 1


def test_merging_a_video_s_own_export_changes_nothing(
    client: TestClient,
    small_video: Callable[..., Video],
    annotate: Callable[..., None],
    annotator: dict[str, str],
    viewer: dict[str, str],
) -> None:
    video = small_video()
    annotate(video.id, [*STORED, box("F", 4, 1.25, 2.5, 3.75, 5.125, notes="n", occluded=True)])
    exported = client.get(f"/api/videos/{video.id}/annotations/export", headers=viewer).content
    document = orjson.loads(exported)
    url = f"/api/videos/{video.id}/annotations/import"

    response = client.post(
        url,
        params={"onConflict": "merge"},
        files={"file": ("own.json", exported)},
        headers=annotator,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 0, 3)

    document["annotations"][2]["occluded"] = False
    response = client.post(
        url,
        params={"onConflict": "merge", "dryRun": "true"},
        files={"file": ("own.json", orjson.dumps(document))},
        headers=annotator,
    )
    assert (response.json()["updated"], response.json()["unchanged"]) == (1, 2)
