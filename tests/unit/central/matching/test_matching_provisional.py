"""Live verdicts: each record judged on arrival, agreeing with the final pass when records
arrive in the final pass's own order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from central.matching import (
    GroundTruth,
    MatchConfig,
    MatchMode,
    ProvisionalMatcher,
    Signals,
    match,
)


def _random_temporal(seed: int) -> tuple[GroundTruth, list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(int(rng.integers(1, 25))):
        onset = float(rng.integers(0, 5000))
        for k, t in enumerate((onset, onset + float(rng.choice([0, 100, 800, 3000])))):
            rows.append(
                {
                    "annotation_id": 2 * e + k + 1,
                    "detection_id": f"e{e:02d}",
                    "frame": int(t) + k,
                    "t_ms": t,
                    "vru_type": "cyclist",
                }
            )
    times = rng.integers(-200, 9000, int(rng.integers(0, 80))).astype(float)
    return GroundTruth.from_dicts(rows), [
        {"record_id": int(i), "t_video_ms": float(t)} for i, t in enumerate(times)
    ]


@pytest.mark.parametrize("seed", range(15))
def test_temporal_provisional_equals_final_for_records_in_time_order(seed: int) -> None:
    gt, records = _random_temporal(seed)
    config = MatchConfig(tolerance_ms=100)
    final = {
        r["record_id"]: r
        for r in match(gt, Signals.from_dicts(records), config).comparisons.to_rows()
    }
    in_time_order = sorted(records, key=lambda r: (r["t_video_ms"], r["record_id"]))
    live = ProvisionalMatcher(gt, config)
    got = []
    for start in range(0, len(in_time_order), 7):  # batches, as they come off MQTT
        got += live.add(Signals.from_dicts(in_time_order[start : start + 7])).to_rows()
    assert [(r["record_id"], r["match_type"], r["annotation_id"]) for r in got] == [
        (
            r["record_id"],
            final[r["record_id"]]["match_type"],
            final[r["record_id"]]["annotation_id"],
        )
        for r in in_time_order
    ]
    # Once every record is in, the provisional track figures are the final ones.
    final_tracks = match(gt, Signals.from_dicts(records), config).evaluation.track_summary["all"]
    tracks = live.snapshot()["tracks"]
    assert tracks["detected"] == final_tracks.detected
    assert tracks["ttfdP50Ms"] == pytest.approx(final_tracks.ttfd_p50_ms)
    assert tracks["seen"] <= final_tracks.tracks
    tp_latency = {r["record_id"]: r["latency_ms"] for r in got if r["match_type"] == "TP"}
    assert tp_latency == {
        r["record_id"]: r["temporal_difference_ms"]
        for r in final.values()
        if r["match_type"] == "TP"
    }


def _gt() -> GroundTruth:
    return GroundTruth.from_dicts(
        [
            {
                "annotation_id": 1,
                "detection_id": "a",
                "frame": 0,
                "t_ms": 0.0,
                "vru_type": "pedestrian",
            },
            {
                "annotation_id": 2,
                "detection_id": "a",
                "frame": 25,
                "t_ms": 1000.0,
                "vru_type": "pedestrian",
            },
            {
                "annotation_id": 3,
                "detection_id": "b",
                "frame": 100,
                "t_ms": 4000.0,
                "vru_type": "pedestrian",
            },
        ]
    )


def test_provisional_verdicts_and_running_score() -> None:
    live = ProvisionalMatcher(_gt(), MatchConfig(tolerance_ms=100))
    first = live.add(
        Signals.from_dicts(
            [{"record_id": 1, "t_video_ms": 120.0}, {"record_id": 2, "t_video_ms": 300.0}]
        )
    )
    assert first.match_type.tolist() == ["TP", "repeat"]
    assert first.annotation_id.tolist() == [1, 1]
    assert first.to_rows()[0]["latency_ms"] == 120.0
    assert live.snapshot() == {
        "truePositives": 1,
        "falsePositives": 0,
        "falseNegatives": 0,
        "repeats": 1,
        "ignored": 0,
        "accuracy": 1.0,
        "tracks": {"seen": 1, "detected": 1, "ttfdP50Ms": 120.0},
    }
    live.add(Signals.from_dicts([{"record_id": 3, "t_video_ms": 5000.0}]))
    # b's window [3900, 4100] closed before 5000 without a signal: a miss already.
    assert live.snapshot() == {
        "truePositives": 1,
        "falsePositives": 1,
        "falseNegatives": 1,
        "repeats": 1,
        "ignored": 0,
        "accuracy": 1 / 3,
        "tracks": {"seen": 2, "detected": 1, "ttfdP50Ms": 120.0},
    }


def test_a_record_delivered_twice_keeps_its_verdict_and_counts_once() -> None:
    live = ProvisionalMatcher(_gt(), MatchConfig(tolerance_ms=100))
    live.add(Signals.from_dicts([{"record_id": 1, "t_video_ms": 120.0}]))
    again = live.add(Signals.from_dicts([{"record_id": 1, "t_video_ms": 120.0}]))
    assert again.match_type.tolist() == ["TP"]
    assert live.snapshot()["truePositives"] == 1
    assert live.snapshot()["repeats"] == 0


def test_spatial_provisional_matches_best_box_of_the_frame() -> None:
    gt = GroundTruth.from_dicts(
        [
            {
                "annotation_id": 1,
                "detection_id": "a",
                "frame": 3,
                "t_ms": 100.0,
                "vru_type": "cyclist",
                "bbox": [0, 0, 10, 10],
            },
            {
                "annotation_id": 2,
                "detection_id": "b",
                "frame": 3,
                "t_ms": 100.0,
                "vru_type": "cyclist",
                "bbox": [50, 50, 10, 10],
                "difficult": True,
            },
        ]
    )
    live = ProvisionalMatcher(gt, MatchConfig(mode=MatchMode.SPATIAL, fps=30.0))
    out = live.add(
        Signals.from_dicts(
            [
                {
                    "record_id": 1,
                    "t_video_ms": 110.0,
                    "vru_type": "cyclist",
                    "bbox": [0, 0, 10, 9],
                    "confidence": 0.9,
                },
                {
                    "record_id": 2,
                    "frame": 3,
                    "vru_type": "cyclist",
                    "bbox": [0, 0, 10, 10],
                    "confidence": 0.8,
                },
                {
                    "record_id": 3,
                    "frame": 3,
                    "vru_type": "cyclist",
                    "bbox": [50, 50, 10, 10],
                    "confidence": 0.8,
                },
                {
                    "record_id": 4,
                    "frame": 3,
                    "vru_type": "pedestrian",
                    "bbox": [0, 0, 10, 10],
                    "confidence": 0.8,
                },
            ]
        )
    )
    assert out.match_type.tolist() == ["TP", "FP", "ignored", "FP"]
    assert out.annotation_id.tolist() == [1, None, 2, None]
    assert out.iou[0] == pytest.approx(0.9)
    assert out.latency_ms[0] == 10.0  # frame 3 (shown at 100 ms) from 110 ms at 30 fps
    # b has only a difficult box: it is no track to detect; a was first detected 10 ms late.
    assert live.snapshot()["tracks"] == {"seen": 1, "detected": 1, "ttfdP50Ms": 10.0}


def test_tracks_are_seen_once_their_first_frame_is_shown() -> None:
    live = ProvisionalMatcher(_gt(), MatchConfig(tolerance_ms=100))
    assert live.snapshot()["tracks"] == {"seen": 0, "detected": 0, "ttfdP50Ms": None}
    live.add(Signals.from_dicts([{"record_id": 1, "t_video_ms": 3950.0}]))  # b, 50 ms early
    assert live.snapshot()["tracks"] == {"seen": 2, "detected": 1, "ttfdP50Ms": -50.0}
