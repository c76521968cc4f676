"""The demo scenario must produce the verdict it promises, whatever jitter a real rig adds."""

from __future__ import annotations

import pytest

from central.demo.scenario import (
    DEFAULT_SCENARIO,
    SAFE_MARGIN_MS,
    DemoScenario,
    Intent,
)

SCENARIO: DemoScenario = DEFAULT_SCENARIO


def _distance_outside(t: float, window: tuple[float, float]) -> float:
    """How far ``t`` is outside ``window`` (negative when inside)."""
    lo, hi = window
    return max(lo - t, t - hi)


def _distance_inside(t: float, window: tuple[float, float]) -> float:
    lo, hi = window
    return min(t - lo, hi - t)


def test_the_expected_verdict_covers_every_outcome() -> None:
    expected = SCENARIO.expected()
    assert expected.true_positives == 4
    assert expected.false_positives == 2
    assert expected.false_negatives == 1
    assert expected.repeats == 1
    assert expected.latencies_ms == (80.0, 120.0, 150.0, 90.0)
    assert expected.precision == pytest.approx(4 / 6)
    assert expected.recall == pytest.approx(4 / 5)
    assert expected.accuracy == pytest.approx(4 / 7)


def test_ground_truth_spans_several_vru_types() -> None:
    assert len({t.vru_type for t in SCENARIO.tracks}) == 5


def test_signals_are_in_time_order_and_inside_the_video() -> None:
    times = [s.at_ms for s in SCENARIO.signals]
    assert times == sorted(times)
    assert 0 < times[0] and times[-1] < SCENARIO.duration_ms
    assert SCENARIO.session_duration_s * 1000 > times[-1]


def test_each_hit_sits_well_inside_its_own_window_and_outside_all_others() -> None:
    hits = [s for s in SCENARIO.signals if s.intent is not Intent.FALSE_POSITIVE]
    for signal in hits:
        assert signal.track is not None
        own = SCENARIO.track(signal.track)
        assert _distance_inside(signal.at_ms, SCENARIO.window_ms(own)) >= SAFE_MARGIN_MS
        for other in SCENARIO.tracks:
            if other is not own:
                assert _distance_outside(signal.at_ms, SCENARIO.window_ms(other)) >= SAFE_MARGIN_MS


def test_each_repeat_follows_a_hit_on_the_same_event() -> None:
    seen: set[str | None] = set()
    for signal in SCENARIO.signals:
        if signal.intent is Intent.TRUE_POSITIVE:
            assert signal.track not in seen, "an event is hit once; later signals are repeats"
            seen.add(signal.track)
        elif signal.intent is Intent.REPEAT:
            assert signal.track in seen


def test_false_positives_are_far_from_every_window() -> None:
    for signal in SCENARIO.signals:
        if signal.intent is Intent.FALSE_POSITIVE:
            for track in SCENARIO.tracks:
                assert _distance_outside(signal.at_ms, SCENARIO.window_ms(track)) >= SAFE_MARGIN_MS


def test_annotations_give_one_in_frame_box_per_track_per_frame() -> None:
    rows = SCENARIO.annotations()
    assert len(rows) == sum(t.last_frame - t.first_frame + 1 for t in SCENARIO.tracks)
    keys = {(r["detectionId"], r["frameNumber"]) for r in rows}
    assert len(keys) == len(rows)
    for row in rows:
        box = row["boundingBox"]
        assert box["width"] > 0 and box["height"] > 0
        assert 0 <= box["x"] and box["x"] + box["width"] <= SCENARIO.width
        assert 0 <= box["y"] and box["y"] + box["height"] <= SCENARIO.height
        assert row["timestamp"] == pytest.approx(row["frameNumber"] / SCENARIO.fps)


def test_a_signal_on_an_event_carries_that_events_box_and_class() -> None:
    for signal in SCENARIO.signals:
        if signal.track is None:
            continue
        track = SCENARIO.track(signal.track)
        assert signal.vru_type is track.vru_type
        assert signal.frame is not None
        assert signal.bbox == track.box_at(signal.frame)


def test_box_at_refuses_a_frame_where_the_track_is_not_visible() -> None:
    track = SCENARIO.tracks[0]
    with pytest.raises(ValueError, match="not visible"):
        track.box_at(track.last_frame + 1)


def test_the_matcher_gives_the_promised_verdict_even_with_rig_jitter() -> None:
    from central.matching import GroundTruth, MatchConfig, Signals, match

    gt = GroundTruth.from_dicts(
        {
            "annotation_id": i,
            "detection_id": row["detectionId"],
            "frame": row["frameNumber"],
            "t_ms": row["timestamp"] * 1000.0,
            "vru_type": row["vruType"],
            "bbox": row["boundingBox"],
        }
        for i, row in enumerate(SCENARIO.annotations())
    )
    config = MatchConfig(
        tolerance_ms=SCENARIO.tolerance_ms,
        max_latency_ms=SCENARIO.max_latency_ms,
        min_accuracy=SCENARIO.min_accuracy,
    )
    expected = SCENARIO.expected()
    for jitter_ms in (0.0, 40.0, -40.0):
        signals = Signals.from_dicts(
            {"record_id": i, "t_video_ms": s.at_ms + jitter_ms, "vru_type": s.vru_type}
            for i, s in enumerate(SCENARIO.signals)
        )
        results = match(gt, signals, config).results
        assert results.true_positives == expected.true_positives
        assert results.false_positives == expected.false_positives
        assert results.false_negatives == expected.false_negatives
        assert results.repeats == expected.repeats
        assert results.latency.max_ms == pytest.approx(max(expected.latencies_ms) + jitter_ms)
        assert results.passed
