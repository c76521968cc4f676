"""Per ground-truth track results: time to first detection, recall and never-detected tracks."""

from __future__ import annotations

import numpy as np
import pytest

from central.matching import GroundTruth, MatchConfig, MatchMode, Signals, match

FPS = 25.0
FRAME_MS = 1000.0 / FPS


def _track_rows(track: str, vru: str, frames: range, first_id: int, **flags: bool) -> list[dict]:
    return [
        {
            "annotation_id": first_id + k,
            "detection_id": track,
            "frame": f,
            "t_ms": f * FRAME_MS,
            "vru_type": vru,
            "bbox": [100.0, 100.0, 40.0, 80.0],
            **flags,
        }
        for k, f in enumerate(frames)
    ]


def _gt() -> GroundTruth:
    rows = _track_rows("walker", "pedestrian", range(10, 20), 1)
    rows += _track_rows("rider", "cyclist", range(30, 35), 100)
    rows += _track_rows("ghost", "pedestrian", range(50, 54), 200)
    rows += _track_rows("blurred", "pedestrian", range(60, 62), 300, difficult=True)
    return GroundTruth.from_dicts(rows)


def _spatial(frames_and_types: list[tuple[int, str, float]]) -> Signals:
    return Signals.from_dicts(
        {
            "record_id": i,
            "frame": f,
            "t_video_ms": f * FRAME_MS + delay,
            "vru_type": vru,
            "bbox": [101.0, 101.0, 40.0, 80.0],
            "confidence": 0.9,
        }
        for i, (f, vru, delay) in enumerate(frames_and_types)
    )


def test_spatial_tracks_give_first_detection_time_recall_and_misses() -> None:
    # The walker is first found on its 4th frame (30 ms late on the clock), then on 3 more.
    detections = [(13, "pedestrian", 30.0), (14, "pedestrian", 0.0), (15, "pedestrian", 0.0)]
    detections += [(16, "pedestrian", 0.0), (30, "cyclist", 10.0)]
    config = MatchConfig(mode=MatchMode.SPATIAL, max_latency_ms=100.0, fps=FPS)
    outcome = match(_gt(), _spatial(detections), config)

    rows = {row["detection_id"]: row for row in outcome.evaluation.tracks.to_rows()}
    walker = rows["walker"]
    assert (walker["first_frame"], walker["last_frame"], walker["frames_seen"]) == (10, 19, 10)
    assert walker["first_matched_frame"] == 13
    assert walker["ttfd_ms"] == pytest.approx(3 * FRAME_MS + 30.0)
    assert walker["recall"] == pytest.approx(0.4)
    assert not walker["never_detected"]
    assert rows["rider"]["ttfd_ms"] == pytest.approx(10.0)
    assert rows["ghost"]["never_detected"] and rows["ghost"]["ttfd_ms"] is None
    assert rows["ghost"]["recall"] == 0.0
    # Every box difficult: the track counts for nothing, so it is neither found nor missed.
    blurred = rows["blurred"]
    assert blurred["frames_counted"] == 0 and blurred["recall"] is None
    assert not blurred["never_detected"]

    summary = outcome.evaluation.to_dict()["tracks"]
    assert summary["pedestrian"]["tracks"] == 2
    assert summary["pedestrian"]["neverDetected"] == 1
    assert summary["pedestrian"]["ttfdMaxMs"] == pytest.approx(150.0)
    assert summary["pedestrian"]["withinBudget"] == 0.0  # 150 ms > 100 ms; the ghost never
    assert summary["cyclist"]["withinBudget"] == 1.0
    assert summary["all"]["tracks"] == 3 and summary["all"]["detected"] == 2
    assert summary["all"]["ttfdP50Ms"] == pytest.approx((10.0 + 150.0) / 2)
    assert (
        summary["motorcyclist"]["tracks"] == 0 and summary["motorcyclist"]["withinBudget"] is None
    )


def test_temporal_tracks_are_found_once_at_the_signal_time() -> None:
    signals = Signals.from_arrays(
        record_id=[1, 2], t_video_ms=[10 * FRAME_MS + 90.0, 29 * FRAME_MS]
    )
    outcome = match(_gt(), signals, MatchConfig(tolerance_ms=100.0, max_latency_ms=100.0))

    rows = {row["detection_id"]: row for row in outcome.evaluation.tracks.to_rows()}
    assert rows["walker"]["ttfd_ms"] == pytest.approx(90.0)
    assert rows["walker"]["first_matched_frame"] == 12  # 490 ms is on frame 12 (480-520 ms)
    assert rows["walker"]["recall"] == 1.0
    # A signal within the tolerance before onset is found "before" the track's first frame.
    assert rows["rider"]["ttfd_ms"] == pytest.approx(-FRAME_MS)
    assert rows["rider"]["first_matched_frame"] == 30
    assert rows["ghost"]["never_detected"] and rows["ghost"]["recall"] == 0.0
    # Temporal mode counts difficult events (DESIGN.md ignores them in spatial mode only).
    assert rows["blurred"]["never_detected"]


def test_track_results_do_not_depend_on_record_order() -> None:
    detections = [(13, "pedestrian", 30.0), (14, "pedestrian", 0.0), (30, "cyclist", 10.0)]
    signals = _spatial(detections)
    config = MatchConfig(mode=MatchMode.SPATIAL, fps=FPS)
    shuffled = signals.take(np.array([2, 0, 1]))
    assert (
        match(_gt(), signals, config).evaluation.tracks.to_rows()
        == match(_gt(), shuffled, config).evaluation.tracks.to_rows()
    )


def test_no_ground_truth_gives_no_tracks() -> None:
    gt = GroundTruth.from_arrays([], [], [], [], [])
    outcome = match(gt, Signals.from_arrays(record_id=[1], t_video_ms=[5.0]), MatchConfig())
    assert len(outcome.evaluation.tracks) == 0
    assert outcome.evaluation.to_dict()["tracks"]["all"]["tracks"] == 0
