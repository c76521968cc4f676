"""The rows behind a session's results, as a frontend reads them: latency measurements in video
milliseconds, comparison rows that each say where in the video they are, and 422s in the names
of the fields the client sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from central.auth import Role
from central.demo.scenario import Intent

from .conftest import SCENARIO, Api, config_body, scenario_detections


def _finished_session(api: Api, make: Callable[..., dict[str, Any]], **config: Any) -> str:
    session_id: str = make()["id"]
    api.ok("POST", f"/api/test-sessions/{session_id}/start", json=config_body(**config))
    api.ok(
        "POST",
        f"/api/test-sessions/{session_id}/detection-comparison",
        json={"detections": scenario_detections()},
    )
    api.ok("POST", f"/api/test-sessions/{session_id}/stop")
    return session_id


def test_latency_measurements_are_the_true_positives_on_the_video_clock(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session_id = _finished_session(api, make_scenario_session, maxLatencyMs=100)
    path = f"/api/test-sessions/{session_id}/latency-measurements"

    response = api.call("GET", path, Role.VIEWER)
    rows = response.json()

    assert response.status_code == 200 and response.headers["X-Total-Count"] == "4"
    hits = [s for s in SCENARIO.signals if s.intent is Intent.TRUE_POSITIVE]
    assert [r["detectionTimestamp"] for r in rows] == pytest.approx([s.at_ms for s in hits])
    onsets = [SCENARIO.frame_time_ms(SCENARIO.track(str(s.track)).first_frame) for s in hits]
    assert [r["signalTimestamp"] for r in rows] == pytest.approx(onsets)
    for row in rows:
        assert row["latencyMs"] == pytest.approx(row["detectionTimestamp"] - row["signalTimestamp"])
        assert row["source"] == "groundTruth" and row["detectionEventId"] is not None
        assert row["withinTolerance"] is (row["latencyMs"] <= 100)


def test_latency_measurements_filter_and_page(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session_id = _finished_session(api, make_scenario_session, maxLatencyMs=100)
    path = f"/api/test-sessions/{session_id}/latency-measurements"

    within = api.ok("GET", path, params={"withinTolerance": "true"})
    slow = api.ok("GET", path, params={"minLatencyMs": 100})
    rig = api.call("GET", path, params={"source": "rig"})
    first = api.call("GET", path, params={"limit": 3})

    assert sorted(r["latencyMs"] for r in within) == pytest.approx([80.0, 90.0])
    assert sorted(r["latencyMs"] for r in slow) == pytest.approx([120.0, 150.0])
    assert rig.json() == [] and rig.headers["X-Total-Count"] == "0"
    assert len(first.json()) == 3 and 'rel="next"' in first.headers["Link"]
    assert api.call("GET", path, params={"source": "guess"}).status_code == 422
    unknown = api.call("GET", "/api/test-sessions/nope/latency-measurements")
    assert unknown.status_code == 404


def test_a_missed_event_row_carries_its_ground_truth_frame_and_time(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session_id = _finished_session(api, make_scenario_session)

    (miss,) = api.ok(
        "GET", f"/api/test-sessions/{session_id}/detection-comparison", params={"matchType": "FN"}
    )

    missed = next(t for t in SCENARIO.tracks if str(t.vru_type) == miss["vruType"])
    assert miss["frameNumber"] == missed.first_frame
    assert miss["tVideoMs"] == pytest.approx(SCENARIO.frame_time_ms(missed.first_frame))


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"tVideoMs": -5}, ["body", "tVideoMs"]),
        ({"detections": [{"tVideoMs": 1, "vruType": "cat"}]}, ["body", "detections", 0, "vruType"]),
        ({}, ["body"]),
    ],
)
def test_a_bad_detection_is_a_422_in_the_names_the_client_sent(
    api: Api,
    make_scenario_session: Callable[..., dict[str, Any]],
    body: dict[str, Any],
    loc: list[Any],
) -> None:
    session_id = make_scenario_session()["id"]
    api.ok("POST", f"/api/test-sessions/{session_id}/start", json=config_body())

    response = api.call("POST", f"/api/test-sessions/{session_id}/detection-comparison", json=body)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [loc]


def _properties(api: Api, name: str) -> set[str]:
    schemas = api.client.get("/openapi.json").json()["components"]["schemas"]
    return set(schemas[name]["properties"])


def test_running_and_final_result_sets_hold_exactly_the_keys_openapi_names(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session_id = make_scenario_session()["id"]
    api.ok("POST", f"/api/test-sessions/{session_id}/start", json=config_body())
    api.ok(
        "POST",
        f"/api/test-sessions/{session_id}/detection-comparison",
        json={"detections": scenario_detections()},
    )
    path = f"/api/test-sessions/{session_id}/detailed-results"

    running = api.ok("GET", path)["results"]
    stopped = api.ok("POST", f"/api/test-sessions/{session_id}/stop")["results"]
    final = api.ok("GET", path)["results"]

    assert running["kind"] == "running" and final["kind"] == stopped["kind"] == "final"
    assert set(running) == _properties(api, "RunningResultSet")
    assert set(final) == set(stopped) == _properties(api, "FinalResultSet")
    assert set(final["latency"]) == _properties(api, "LatencySummary")
    union = api.client.get("/openapi.json").json()["components"]["schemas"]
    mapping = union["DetailedResultsPublic"]["properties"]["results"]["anyOf"][0]["discriminator"]
    assert set(mapping["mapping"]) == {"running", "final"}
