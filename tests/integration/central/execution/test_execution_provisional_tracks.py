"""The live provisional results carry the per-track figures so far (issue 12: "and, where it
makes sense, to the live provisional ones"): tracks seen and detected, TTFD p50.

The demo scenario: five tracks, four hit with latencies 80, 120, 150 and 90 ms (p50 105 ms), the
wheelchair user never detected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .conftest import SCENARIO, Api, config_body, scenario_detections


def test_running_results_count_tracks_seen_and_detected_so_far(
    api: Api, make_scenario_session: Callable[..., dict[str, Any]]
) -> None:
    session = make_scenario_session()
    path = f"/api/test-sessions/{session['id']}"
    api.ok("POST", f"{path}/start", json=config_body())
    before = api.ok("GET", f"{path}/detailed-results")["results"]
    assert before["tracks"] == {"seen": 0, "detected": 0, "ttfdP50Ms": None}

    api.ok("POST", f"{path}/detection-comparison", json={"detections": scenario_detections()})
    running = api.ok("GET", f"{path}/detailed-results")["results"]
    final = api.ok("POST", f"{path}/stop")["results"]

    assert running["kind"] == "running"
    every = final["evaluation"]["tracks"]["all"]
    assert (every["tracks"], every["detected"], every["ttfdP50Ms"]) == (
        len(SCENARIO.tracks),
        4,
        105.0,
    )
    latest_ms = max(s.at_ms for s in SCENARIO.signals)
    shown = sum(1 for t in SCENARIO.tracks if SCENARIO.frame_time_ms(t.first_frame) <= latest_ms)
    assert running["tracks"] == {"seen": shown, "detected": 4, "ttfdP50Ms": 105.0}
