"""A session of a model tested without a rig: detections posted over HTTP, judged live and at stop.

Expected numbers are the demo scenario's, worked out by hand in DemoScenario.expected(): 4 hits
with latencies 80, 120, 150 and 90 ms, one repeat, two false alarms, one missed wheelchair user.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from central.app import create_app
from central.auth import Role
from central.config import CentralSettings
from central.db.models import DetectionComparison, LatencyMeasurement
from central.services.tokens import create_token
from tests.integration.central.conftest import poll_until

from .conftest import (
    SCENARIO,
    Api,
    config_body,
    create_scenario_session,
    scenario_detections,
)

EXPECTED = SCENARIO.expected()


def _start(api: Api, session_id: str, **overrides: Any) -> dict[str, Any]:
    started: dict[str, Any] = api.ok(
        "POST", f"/api/test-sessions/{session_id}/start", json=config_body(**overrides)
    )
    return started


def test_http_session_runs_from_start_to_a_reproducible_verdict(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]], db_session: Any
) -> None:
    session = make_scenario_session()
    started = _start(api, session["id"])
    assert started["status"] == "running"
    assert started["executionConfig"]["toleranceMs"] == 100

    verdicts = api.ok(
        "POST",
        f"/api/test-sessions/{session['id']}/detection-comparison",
        json={"detections": scenario_detections()},
    )
    assert [v["matchType"] for v in verdicts] == ["TP", "FP", "TP", "repeat", "TP", "FP", "TP"]
    assert [v["latencyMs"] for v in verdicts if v["matchType"] == "TP"] == list(
        EXPECTED.latencies_ms
    )
    assert all(v["provisional"] for v in verdicts)

    live = api.ok("GET", f"/api/test-sessions/{session['id']}/detailed-results")
    assert live["final"] is False and live["status"] == "running"
    assert live["results"]["truePositives"] == 4 and live["results"]["repeats"] == 1

    stopped = api.ok("POST", f"/api/test-sessions/{session['id']}/stop")
    assert stopped["status"] == "stopped"
    results = stopped["results"]
    assert (results["truePositives"], results["falsePositives"], results["falseNegatives"]) == (
        4,
        2,
        1,
    )
    assert results["repeats"] == 1
    assert results["precision"] == pytest.approx(4 / 6)
    assert results["recall"] == pytest.approx(4 / 5)
    assert results["f1"] == pytest.approx(2 * (4 / 6) * 0.8 / (4 / 6 + 0.8))
    assert results["accuracy"] == pytest.approx(4 / 7)
    assert results["latency"]["meanMs"] == pytest.approx(110.0)
    assert results["latency"]["p50Ms"] == pytest.approx(105.0)
    assert results["latency"]["p95Ms"] == pytest.approx(145.5)
    assert results["latency"]["maxMs"] == pytest.approx(150.0)
    assert results["passed"] is True and results["failedCriteria"] == []
    assert results["byVruType"]["wheelchair_user"]["falseNegatives"] == 1
    assert results["byFlag"]["occluded"]["truePositives"] == 1
    assert results["ap50"] is None, "temporal mode has no boxes to average precision over"

    def stored() -> list[tuple[Any, ...]]:
        db_session.expire_all()
        rows = db_session.scalars(
            select(DetectionComparison).where(DetectionComparison.test_session_id == session["id"])
        )
        return sorted(
            (r.match_type, r.ground_truth_id, r.detection_event_id, r.temporal_difference_ms)
            for r in rows
        )

    first = stored()
    assert sorted(row[0] for row in first) == ["FN", "FP", "FP", "TP", "TP", "TP", "TP", "repeat"]
    again = api.ok("POST", f"/api/test-sessions/{session['id']}/recompute")
    assert again["results"] == results
    assert stored() == first, "recompute replaces the rows with the same rows"
    latencies = db_session.scalars(
        select(LatencyMeasurement.latency_ms).where(
            LatencyMeasurement.test_session_id == session["id"]
        )
    ).all()
    assert sorted(latencies) == sorted(EXPECTED.latencies_ms)

    detail = api.ok("GET", f"/api/test-sessions/{session['id']}/detailed-results", role=Role.VIEWER)
    assert detail["final"] is True and detail["results"] == results
    assert detail["completedAt"] is not None


def test_comparisons_page_and_filter_by_match_type(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session()
    _start(api, session["id"])
    api.ok(
        "POST",
        f"/api/test-sessions/{session['id']}/detection-comparison",
        json={"detections": scenario_detections()},
    )
    api.ok("POST", f"/api/test-sessions/{session['id']}/stop")
    path = f"/api/test-sessions/{session['id']}/detection-comparison"

    response = api.call("GET", path, Role.VIEWER, params={"limit": 3, "offset": 0})
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "8"
    first_page = response.json()
    assert len(first_page) == 3
    times = [row["tVideoMs"] for row in first_page]
    assert times == [580.0, 1700.0, 2120.0], "records come in video time order"

    rest = api.ok("GET", path, params={"limit": 10, "offset": 3})
    assert len(rest) == 5 and rest[-1]["matchType"] == "FN", "misses come last"

    tps = api.call("GET", path, params={"matchType": "TP"})
    assert tps.headers["X-Total-Count"] == "4"
    assert {row["vruType"] for row in tps.json()} == {
        "pedestrian",
        "cyclist",
        "motorcyclist",
        "scooter_rider",
    }
    (miss,) = api.ok("GET", path, params={"matchType": "FN"})
    assert miss["vruType"] == "wheelchair_user" and miss["detectionEventId"] is None

    bad = api.call("GET", path, params={"matchType": "maybe"})
    assert bad.status_code == 422


def test_latency_metrics_live_then_final(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session()
    _start(api, session["id"], maxLatencyMs=100)
    path = f"/api/test-sessions/{session['id']}/latency-metrics"
    empty = api.ok("GET", path)
    assert empty["provisional"] is True and empty["count"] == 0 and empty["p95Ms"] is None

    api.ok(
        "POST",
        f"/api/test-sessions/{session['id']}/detection-comparison",
        json={"detections": scenario_detections()},
    )
    live = api.ok("GET", path)
    assert live["provisional"] is True
    assert live["count"] == 4 and live["maxMs"] == pytest.approx(150.0)
    assert live["withinTolerance"] == 2, "80 and 90 ms are within a 100 ms budget"

    stopped = api.ok("POST", f"/api/test-sessions/{session['id']}/stop")
    final = api.ok("GET", path, role=Role.VIEWER)
    assert final["provisional"] is False
    assert (final["count"], final["meanMs"], final["p50Ms"], final["p95Ms"], final["p99Ms"]) == (
        4,
        pytest.approx(110.0),
        pytest.approx(105.0),
        pytest.approx(145.5),
        pytest.approx(149.1),
    )
    assert final["withinTolerance"] == 2 and final["maxLatencyMs"] == 100.0
    assert sum(final["histogram"]["counts"]) == 4
    assert len(final["histogram"]["edgesMs"]) == len(final["histogram"]["counts"]) + 1
    assert final["rigMeasured"] is None
    assert stopped["results"]["passed"] is False
    assert stopped["results"]["failedCriteria"] == ["p95 latency 145.5 ms > 100 ms"]


def test_a_detection_placed_by_frame_number_uses_the_video_frame_rate(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session()
    _start(api, session["id"])
    (verdict,) = api.ok(
        "POST",
        f"/api/test-sessions/{session['id']}/detection-comparison",
        json={"frameNumber": 50, "vruType": "wheelchair_user"},
    )
    assert verdict["tVideoMs"] == pytest.approx(5000.0)
    assert verdict["matchType"] == "TP" and verdict["latencyMs"] == pytest.approx(200.0)


def test_a_session_ends_by_itself_when_its_duration_elapses(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session()
    _start(api, session["id"], testDuration=1)
    api.ok(
        "POST",
        f"/api/test-sessions/{session['id']}/detection-comparison",
        json={"detections": scenario_detections()[:2]},
    )

    def finished() -> dict[str, Any] | None:
        row: dict[str, Any] = api.ok("GET", f"/api/test-sessions/{session['id']}")
        return row if row["status"] != "running" else None

    row = poll_until(finished, timeout=10, what="the duration to end the session")
    assert row["status"] == "completed"
    assert (row["results"]["truePositives"], row["results"]["falsePositives"]) == (1, 1)
    assert row["results"]["falseNegatives"] == 4
    late = api.call(
        "POST",
        f"/api/test-sessions/{session['id']}/detection-comparison",
        json=scenario_detections()[0],
    )
    assert late.status_code == 409


def test_start_refuses_what_cannot_run(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    assert api.call("POST", "/api/test-sessions/nope/start", json=config_body()).status_code == 404

    no_truth = make_scenario_session(with_ground_truth=False)
    response = api.call("POST", f"/api/test-sessions/{no_truth['id']}/start", json=config_body())
    assert response.status_code == 422
    assert "no ground-truth" in response.text
    assert api.ok("GET", f"/api/test-sessions/{no_truth['id']}")["status"] == "pending"

    session = make_scenario_session()
    no_config = api.call("POST", f"/api/test-sessions/{session['id']}/start")
    assert no_config.status_code == 422, "no body and no stored config"
    bad = api.call(
        "POST", f"/api/test-sessions/{session['id']}/start", json=config_body(mode="sideways")
    )
    assert bad.status_code == 422
    viewer = api.call(
        "POST", f"/api/test-sessions/{session['id']}/start", Role.VIEWER, json=config_body()
    )
    assert viewer.status_code == 403

    _start(api, session["id"])
    again = api.call("POST", f"/api/test-sessions/{session['id']}/start", json=config_body())
    assert again.status_code == 409


def test_stop_recompute_and_detections_refuse_a_session_in_the_wrong_state(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session()
    base = f"/api/test-sessions/{session['id']}"
    assert api.call("POST", f"{base}/stop").status_code == 409
    assert api.call("POST", f"{base}/recompute").status_code == 409
    pending = api.call("POST", f"{base}/detection-comparison", json={"tVideoMs": 1000})
    assert pending.status_code == 409

    _start(api, session["id"])
    assert api.call("POST", f"{base}/recompute").status_code == 409
    unplaced = api.call("POST", f"{base}/detection-comparison", json={"vruType": "cyclist"})
    assert unplaced.status_code == 422
    wrong_type = api.call(
        "POST", f"{base}/detection-comparison", json={"tVideoMs": 5, "vruType": "horse"}
    )
    assert wrong_type.status_code == 422
    api.ok("POST", f"{base}/stop")
    assert api.call("POST", f"{base}/stop").status_code == 409


def test_spatial_mode_scores_boxes_and_average_precision(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session()
    _start(api, session["id"], mode="spatial", iouThreshold=0.5)
    boxes = [
        {
            "frameNumber": s.frame,
            "vruType": str(s.vru_type),
            "confidence": s.confidence,
            "boundingBox": dict(zip(("x", "y", "width", "height"), s.bbox, strict=True)),
        }
        for s in SCENARIO.signals
    ]
    verdicts = api.ok(
        "POST",
        f"/api/test-sessions/{session['id']}/detection-comparison",
        json={"detections": boxes},
    )
    # Each box lies exactly on a ground-truth box of its frame, except the two false alarms.
    assert [v["matchType"] for v in verdicts] == ["TP", "FP", "TP", "TP", "TP", "FP", "TP"]
    results = api.ok("POST", f"/api/test-sessions/{session['id']}/stop")["results"]
    rows = api.ok("GET", f"/api/test-sessions/{session['id']}/detection-comparison?limit=1000")
    drawn = [(row["frameNumber"], row["bbox"]) for row in rows if row["detectionEventId"]]
    assert drawn == [(s.frame, list(s.bbox)) for s in SCENARIO.signals], "the review draws these"
    annotated_boxes = len(SCENARIO.annotations())
    assert results["truePositives"] == 5
    assert results["falseNegatives"] == annotated_boxes - 5
    assert results["ap50"] is not None and 0 < results["ap50"] < 1
    assert results["ap"] is not None and results["ap"] <= results["ap50"]


def test_project_analytics_summarise_sessions_per_rig_and_video(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    first = make_scenario_session()
    project_id = first["projectId"]
    _start(api, first["id"])
    api.ok(
        "POST",
        f"/api/test-sessions/{first['id']}/detection-comparison",
        json={"detections": scenario_detections()},
    )
    api.ok("POST", f"/api/test-sessions/{first['id']}/stop")
    second = api.ok(
        "POST",
        "/api/test-sessions",
        201,
        json={
            "name": "strict",
            "projectId": project_id,
            "videoId": first["videoId"],
            "rigId": "http",
        },
    )
    _start(api, second["id"], minAccuracy=0.9)
    api.ok(
        "POST",
        f"/api/test-sessions/{second['id']}/detection-comparison",
        json={"detections": scenario_detections()},
    )
    api.ok("POST", f"/api/test-sessions/{second['id']}/stop")
    api.ok(
        "POST",
        "/api/test-sessions",
        201,
        json={
            "name": "later",
            "projectId": project_id,
            "videoId": first["videoId"],
            "rigId": "rig-7",
        },
    )

    analytics = api.ok("GET", f"/api/projects/{project_id}/analytics", role=Role.VIEWER)
    totals = analytics["totals"]
    assert totals["sessions"] == 3 and totals["finished"] == 2
    assert totals["byStatus"] == {"stopped": 2, "pending": 1}
    assert totals["passRate"] == pytest.approx(0.5), "the strict session fails on accuracy"
    assert totals["meanAccuracy"] == pytest.approx(4 / 7)
    assert [t["testSessionId"] for t in analytics["trends"]] == [first["id"], second["id"]]
    assert [t["passed"] for t in analytics["trends"]] == [True, False]
    (day,) = analytics["sessionsOverTime"]
    assert (day["total"], day["stopped"], day["pending"], day["passed"]) == (3, 2, 1, 1)
    rigs = {r["rigId"]: r for r in analytics["byRig"]}
    assert rigs["http"]["finished"] == 2 and rigs["rig-7"]["finished"] == 0
    assert rigs["rig-7"]["passRate"] is None
    (video,) = analytics["byVideo"]
    assert video["sessions"] == 3 and video["filename"] == "scenario.mp4"
    assert api.call("GET", "/api/projects/nope/analytics").status_code == 404


def test_results_of_an_unknown_session_are_not_found(api: Api) -> None:
    for path in ("detailed-results", "latency-metrics", "detection-comparison"):
        assert api.call("GET", f"/api/test-sessions/nope/{path}").status_code == 404
    assert api.call("POST", "/api/test-sessions/nope/stop").status_code == 404


def test_detailed_results_of_a_pending_session_are_empty(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session()
    detail = api.ok("GET", f"/api/test-sessions/{session['id']}/detailed-results")
    assert detail == {
        "testSessionId": session["id"],
        "status": "pending",
        "failureReason": None,
        "startedAt": None,
        "completedAt": None,
        "final": False,
        "results": None,
    }


def test_a_session_left_running_by_a_restart_is_resumed_and_ends_on_time(
    settings: CentralSettings, scenario_video: Path
) -> None:
    first = create_app(settings)
    with TestClient(first) as client:
        with first.state.session_factory() as db:
            token = create_token(db, Role.OPERATOR, "restart")[1]
        api = Api(client, {Role.OPERATOR: {"Authorization": f"Bearer {token}"}})
        session = create_scenario_session(api, scenario_video)
        _start(api, session["id"], testDuration=2)
        before = scenario_detections()[:3]
        api.ok(
            "POST",
            f"/api/test-sessions/{session['id']}/detection-comparison",
            json={"detections": before},
        )

    with TestClient(create_app(settings)) as client:
        api = Api(client, {Role.OPERATOR: {"Authorization": f"Bearer {token}"}})
        assert api.ok("GET", f"/api/test-sessions/{session['id']}")["status"] == "running"
        after = api.ok(
            "POST",
            f"/api/test-sessions/{session['id']}/detection-comparison",
            json={"detections": scenario_detections()[3:]},
        )
        # The cyclist was hit before the restart: the resumed matcher knows, so this is a repeat.
        assert [v["matchType"] for v in after] == ["repeat", "TP", "FP", "TP"]

        def finished() -> dict[str, Any] | None:
            row: dict[str, Any] = api.ok("GET", f"/api/test-sessions/{session['id']}")
            return row if row["status"] != "running" else None

        row = poll_until(finished, timeout=10, what="the resumed session to end")
    assert row["status"] == "completed"
    results = row["results"]
    assert (results["truePositives"], results["falsePositives"], results["repeats"]) == (4, 2, 1)


def test_a_session_whose_duration_passed_while_central_was_down_completes_at_startup(
    settings: CentralSettings, scenario_video: Path
) -> None:
    first = create_app(settings)
    with TestClient(first) as client:
        with first.state.session_factory() as db:
            token = create_token(db, Role.OPERATOR, "restart")[1]
        api = Api(client, {Role.OPERATOR: {"Authorization": f"Bearer {token}"}})
        session = create_scenario_session(api, scenario_video)
        _start(api, session["id"], testDuration=1)
        api.ok(
            "POST",
            f"/api/test-sessions/{session['id']}/detection-comparison",
            json={"detections": scenario_detections()},
        )
    time.sleep(1.1)

    with TestClient(create_app(settings)) as client:
        api = Api(client, {Role.OPERATOR: {"Authorization": f"Bearer {token}"}})
        row = api.ok("GET", f"/api/test-sessions/{session['id']}")
    assert row["status"] == "completed", "finished before the server took requests"
    assert (row["results"]["truePositives"], row["results"]["falseNegatives"]) == (4, 1)
