"""The evaluation of a finished session: ``GET .../tracks``, size bins, criteria and confusion.

The demo scenario (see test_execution_http.py): five tracks, four hit with latencies 80, 120,
150 and 90 ms, the wheelchair user never detected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from central.auth import Role

from .conftest import SCENARIO, Api, config_body, scenario_detections

EXPECTED = SCENARIO.expected()


def _finished_session(api: Api, make: Callable[..., dict[str, Any]], **config: Any) -> str:
    session = make()
    api.ok("POST", f"/api/test-sessions/{session['id']}/start", json=config_body(**config))
    api.ok(
        "POST",
        f"/api/test-sessions/{session['id']}/detection-comparison",
        json={"detections": scenario_detections()},
    )
    api.ok("POST", f"/api/test-sessions/{session['id']}/stop")
    return str(session["id"])


def test_tracks_list_each_ground_truth_track_with_its_first_detection(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session_id = _finished_session(api, make_scenario_session, maxLatencyMs=100)
    path = f"/api/test-sessions/{session_id}/tracks"

    response = api.call("GET", path, Role.VIEWER, params={"limit": 2})
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == str(len(SCENARIO.tracks))
    assert [row["detectionId"] for row in response.json()] == ["ped-1", "cyc-1"]
    rows = api.ok("GET", path, params={"limit": 100})
    assert sorted(r["ttfdMs"] for r in rows if r["ttfdMs"] is not None) == pytest.approx(
        sorted(EXPECTED.latencies_ms)
    )

    missed = api.call("GET", path, params={"missed": "true"})
    assert missed.headers["X-Total-Count"] == "1"
    (wheelchair,) = missed.json()
    assert wheelchair["vruType"] == "wheelchair_user" and wheelchair["neverDetected"] is True
    assert wheelchair["ttfdMs"] is None and wheelchair["recall"] == 0.0
    (cyclist,) = api.ok("GET", path, params={"vruType": "cyclist"})
    assert cyclist["detectionId"] == "cyc-1" and cyclist["recall"] == 1.0
    assert api.call("GET", path, params={"vruType": "horse"}).status_code == 422

    summary = api.ok("GET", f"/api/test-sessions/{session_id}/detailed-results")["results"]
    everyone = summary["evaluation"]["tracks"]["all"]
    assert (everyone["tracks"], everyone["detected"], everyone["neverDetected"]) == (5, 4, 1)
    assert everyone["ttfdMaxMs"] == pytest.approx(max(EXPECTED.latencies_ms))
    assert everyone["withinBudget"] == pytest.approx(2 / 5), "80 and 90 ms of 5 tracks"


def test_recompute_replaces_the_track_rows(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session_id = _finished_session(api, make_scenario_session)
    path = f"/api/test-sessions/{session_id}/tracks"
    before = api.ok("GET", path)
    api.ok("POST", f"/api/test-sessions/{session_id}/recompute")
    after = api.call("GET", path)
    assert after.headers["X-Total-Count"] == str(len(before))
    strip = [{k: v for k, v in r.items() if k not in ("id", "createdAt")} for r in after.json()]
    assert strip == [{k: v for k, v in r.items() if k not in ("id", "createdAt")} for r in before]


def test_tracks_of_an_unknown_session_are_not_found(api: Api) -> None:
    assert api.call("GET", "/api/test-sessions/nope/tracks").status_code == 404


def _spatial_boxes() -> list[dict[str, Any]]:
    return [
        {
            "frameNumber": s.frame,
            "vruType": str(s.vru_type),
            "confidence": s.confidence,
            "boundingBox": dict(zip(("x", "y", "width", "height"), s.bbox, strict=True)),
        }
        for s in SCENARIO.signals
    ]


def test_a_spatial_session_breaks_down_by_its_own_size_bins_and_criteria(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session()
    criteria = [{"metric": "recall", "limit": 0.99, "sizeBin": "30-inf"}]
    started = api.ok(
        "POST",
        f"/api/test-sessions/{session['id']}/start",
        json=config_body(
            mode="spatial", minAccuracy=0.0, sizeBinEdgesPx=[0, 30], criteria=criteria
        ),
    )
    assert started["executionConfig"]["sizeBinEdgesPx"] == [0.0, 30.0]
    api.ok(
        "POST",
        f"/api/test-sessions/{session['id']}/detection-comparison",
        json={"detections": _spatial_boxes()},
    )
    results = api.ok("POST", f"/api/test-sessions/{session['id']}/stop")["results"]

    bins = results["evaluation"]["sizeBins"]
    assert bins["labels"] == ["0-30", "30-inf"]
    everyone = bins["byVruType"]["all"]
    assert everyone["0-30"]["truePositives"] + everyone["30-inf"]["truePositives"] == 5
    assert everyone["all"]["logAverageMissRate"] is not None
    assert results["passed"] is False
    (failure,) = [c for c in results["failedCriteria"] if "30-inf" in c]
    assert failure.startswith("recall ") and failure.endswith("< 0.99 (all types, 30-inf px)")
    confusion = results["evaluation"]["confusion"]
    assert sum(map(sum, confusion["counts"])) > 0


@pytest.mark.parametrize(
    "bad",
    [
        {"sizeBinEdgesPx": [50, 10]},
        {"sizeBinEdgesPx": []},
        {"criteria": [{"metric": "recall", "limit": 0.9, "sizeBin": "1-2"}]},
        {"criteria": [{"metric": "vibes", "limit": 0.9}]},
    ],
)
def test_bad_size_bins_or_criteria_are_refused(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]], bad: dict[str, Any]
) -> None:
    session = make_scenario_session()
    response = api.call(
        "POST", f"/api/test-sessions/{session['id']}/start", json=config_body(**bad)
    )
    assert response.status_code == 422, response.text


def test_detections_with_track_ids_give_track_metrics(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session()
    api.ok(
        "POST",
        f"/api/test-sessions/{session['id']}/start",
        json=config_body(mode="spatial", minAccuracy=0.0),
    )
    # Each box follows its scripted track; the tracker numbers tracks by the signal's track.
    tracked = [
        {**box, "trackId": s.track or f"fa-{k}"}
        for k, (box, s) in enumerate(zip(_spatial_boxes(), SCENARIO.signals, strict=True))
    ]
    api.ok(
        "POST",
        f"/api/test-sessions/{session['id']}/detection-comparison",
        json={"detections": tracked},
    )
    results = api.ok("POST", f"/api/test-sessions/{session['id']}/stop")["results"]
    metrics = results["evaluation"]["trackMetrics"]
    boxes = len(SCENARIO.annotations())
    assert metrics["objects"] == len(SCENARIO.tracks)
    assert metrics["matches"] == 5 and metrics["misses"] == boxes - 5
    assert metrics["idSwitches"] == 0
    assert metrics["mota"] == pytest.approx(1 - (boxes - 5 + metrics["falsePositives"]) / boxes)
    assert 0 < metrics["hota"] < 1

    untracked = make_scenario_session()
    api.ok(
        "POST",
        f"/api/test-sessions/{untracked['id']}/start",
        json=config_body(mode="spatial", minAccuracy=0.0),
    )
    api.ok(
        "POST",
        f"/api/test-sessions/{untracked['id']}/detection-comparison",
        json={"detections": _spatial_boxes()},
    )
    plain = api.ok("POST", f"/api/test-sessions/{untracked['id']}/stop")["results"]
    assert plain["evaluation"]["trackMetrics"] is None


def test_a_bad_track_id_is_refused(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session()
    api.ok("POST", f"/api/test-sessions/{session['id']}/start", json=config_body(mode="spatial"))
    for bad in ("", "x" * 65, True, 1.5):
        response = api.call(
            "POST",
            f"/api/test-sessions/{session['id']}/detection-comparison",
            json={"frameNumber": 1, "trackId": bad},
        )
        assert response.status_code == 422, bad


def _finished_with(
    api: Api, make: Callable[..., dict[str, Any]], detections: list[dict[str, Any]]
) -> dict[str, Any]:
    return _run(api, make(), detections)


def _rerun(api: Api, first: dict[str, Any], detections: list[dict[str, Any]]) -> dict[str, Any]:
    """A second session on the first one's video (another build of the model under test)."""
    body = {
        "name": "next build",
        "projectId": first["projectId"],
        "videoId": first["videoId"],
        "rigId": "http",
    }
    return _run(api, api.ok("POST", "/api/test-sessions", 201, json=body), detections)


def _run(api: Api, session: dict[str, Any], detections: list[dict[str, Any]]) -> dict[str, Any]:
    api.ok("POST", f"/api/test-sessions/{session['id']}/start", json=config_body())
    api.ok(
        "POST",
        f"/api/test-sessions/{session['id']}/detection-comparison",
        json={"detections": detections},
    )
    api.ok("POST", f"/api/test-sessions/{session['id']}/stop")
    return session


def test_comparing_a_slower_build_shows_a_regression_in_the_api_and_the_cli(
    api: Api,
    make_scenario_session: Callable[..., dict[str, Any]],
    settings: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from central.cli.main import main

    a = _finished_with(api, make_scenario_session, scenario_detections())
    b = _rerun(api, a, scenario_detections(jitter_ms=60.0))

    outcome = api.ok("GET", f"/api/test-sessions/{a['id']}/compare/{b['id']}", role=Role.VIEWER)
    assert outcome["tracks"] == len(SCENARIO.tracks)
    assert outcome["foundInAMissedInB"] == [] and outcome["missedInAFoundInB"] == []
    assert outcome["mcnemarP"] is None
    assert outcome["latencyDifferenceMs"] == pytest.approx(60.0)
    assert outcome["latencyInterval95Ms"] == pytest.approx([60.0, 60.0])
    assert outcome["verdict"] == "regressed"
    back = api.ok("GET", f"/api/test-sessions/{b['id']}/compare/{a['id']}")
    assert back["verdict"] == "improved"

    url = ["--database-url", settings.database_url]
    assert main(["compare", a["id"], b["id"], *url]) == 0
    assert main(["compare", a["id"], b["id"], "--fail-on-regression", *url]) == 1
    assert "verdict: regressed" in capsys.readouterr().out
    assert main(["compare", b["id"], a["id"], "--fail-on-regression", *url]) == 0


def test_comparing_an_unfinished_or_unknown_session_is_refused(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    a = _finished_with(api, make_scenario_session, scenario_detections())
    running = make_scenario_session()
    api.ok("POST", f"/api/test-sessions/{running['id']}/start", json=config_body())
    assert (
        api.call("GET", f"/api/test-sessions/{a['id']}/compare/{running['id']}").status_code == 409
    )
    assert api.call("GET", f"/api/test-sessions/{a['id']}/compare/nope").status_code == 404
