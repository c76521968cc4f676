"""Counts, ratios, latency statistics and the pass/fail verdict with its named criteria."""

from __future__ import annotations

import numpy as np
import pytest

from central.matching import (
    LATENCY_HISTOGRAM_EDGES_MS,
    GroundTruth,
    MatchConfig,
    MatchResult,
    Signals,
    match,
)


def _events(n: int, spacing: float = 10_000.0) -> GroundTruth:
    """n events of 1 s, ``spacing`` apart, one annotation each at onset and offset."""
    rows = []
    for e in range(n):
        onset = e * spacing
        for k, t in enumerate((onset, onset + 1000.0)):
            rows.append(
                {
                    "annotation_id": 2 * e + k + 1,
                    "detection_id": f"e{e:04d}",
                    "frame": int(t // 40),
                    "t_ms": t,
                    "vru_type": "pedestrian",
                }
            )
    return GroundTruth.from_dicts(rows)


def _session(latencies: list[float], n_events: int, n_fp: int, **config: float) -> MatchResult:
    times = [e * 10_000.0 + lat for e, lat in enumerate(latencies)]
    times += [e * 10_000.0 + 5000.0 for e in range(n_fp)]  # far outside every window
    signals = Signals.from_arrays(record_id=np.arange(len(times)), t_video_ms=times)
    return match(_events(n_events), signals, MatchConfig(**config))


def test_counts_and_ratios() -> None:
    result = _session([10.0] * 8, n_events=10, n_fp=2).results
    assert (result.true_positives, result.false_positives, result.false_negatives) == (8, 2, 2)
    assert result.precision == 0.8
    assert result.recall == 0.8
    assert result.f1 == pytest.approx(0.8)
    assert result.accuracy == pytest.approx(8 / 12)


def test_passes_when_accuracy_and_p95_latency_meet_the_criteria() -> None:
    result = _session([50.0] * 10, n_events=10, n_fp=0, min_accuracy=0.9, max_latency_ms=200)
    assert result.results.passed
    assert result.results.failed_criteria == []


def test_each_failed_criterion_is_named() -> None:
    latencies = [240.0] * 9
    result = _session(latencies, n_events=10, n_fp=1, min_accuracy=0.9, max_latency_ms=200).results
    assert not result.passed
    assert result.failed_criteria == ["accuracy 0.82 < 0.90", "p95 latency 240.0 ms > 200 ms"]


def test_accuracy_exactly_at_the_minimum_passes_and_just_below_names_enough_digits() -> None:
    at = _session([10.0] * 9, n_events=9, n_fp=1, min_accuracy=0.9).results
    assert at.accuracy == 0.9 and at.passed
    below = _session([10.0] * 899, n_events=900, n_fp=0, min_accuracy=0.999).results
    assert below.failed_criteria == ["accuracy 0.9989 < 0.9990"]


def test_without_any_true_positive_the_latency_criterion_fails_as_unmeasured() -> None:
    result = _session([], n_events=2, n_fp=1, min_accuracy=0.0).results
    assert result.latency.count == 0
    assert result.latency.p95_ms is None
    assert result.failed_criteria == ["p95 latency unmeasured (no true positive with a video time)"]


def test_latency_statistics_and_rows() -> None:
    lat = [float(x) for x in range(10, 110, 10)]  # 10 .. 100
    result = _session(lat, n_events=10, n_fp=0, max_latency_ms=60)
    stats = result.results.latency
    assert stats.count == 10
    assert stats.mean_ms == 55.0
    assert stats.p50_ms == 55.0
    assert stats.p95_ms == pytest.approx(95.5)
    assert stats.p99_ms == pytest.approx(99.1)
    assert stats.max_ms == 100.0
    assert result.latencies.latency_ms.tolist() == lat
    assert result.latencies.within_tolerance.tolist() == [x <= 60 for x in lat]


def test_histogram_has_fixed_edges_and_counts_every_latency_once() -> None:
    lat = [-20.0, 0.0, 24.9, 25.0, 199.0, 200.0, 999.0, 1000.0, 1050.0]
    stats = _session(lat, n_events=len(lat), n_fp=0, tolerance_ms=100).results.latency
    assert stats.histogram_edges_ms == LATENCY_HISTOGRAM_EDGES_MS
    counts = dict(zip(LATENCY_HISTOGRAM_EDGES_MS, stats.histogram_counts))
    assert sum(stats.histogram_counts) == len(lat)
    assert counts[0.0] == 3  # -20 (below the first edge), 0, 24.9
    assert counts[25.0] == 1
    assert counts[175.0] == 1  # 199
    assert counts[200.0] == 1
    assert counts[750.0] == 3  # 999, 1000 and 1050 (the last bin holds everything from 750 up)


def test_to_dict_follows_the_camel_case_contract() -> None:
    out = _session([10.0, 20.0], n_events=3, n_fp=1).results.to_dict()
    assert {
        "truePositives",
        "falsePositives",
        "falseNegatives",
        "repeats",
        "precision",
        "recall",
        "f1",
        "accuracy",
        "ap50",
        "ap",
        "latency",
        "byVruType",
        "byFlag",
        "passed",
        "failedCriteria",
    } <= out.keys()
    assert out["latency"].keys() >= {"meanMs", "p50Ms", "p95Ms", "p99Ms", "maxMs", "histogram"}
    assert out["latency"]["histogram"].keys() == {"edgesMs", "counts"}
    assert set(out["byVruType"]) == {
        "pedestrian",
        "cyclist",
        "motorcyclist",
        "wheelchair_user",
        "scooter_rider",
    }
    assert set(out["byFlag"]) == {"occluded", "truncated", "difficult"}
    assert out["byVruType"]["pedestrian"]["truePositives"] == 2
    assert out["truePositives"] == 2 and out["falseNegatives"] == 1
