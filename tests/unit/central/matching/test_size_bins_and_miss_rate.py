"""Figures per box-height bin and per flag, Caltech's log-average miss rate, and slice criteria."""

from __future__ import annotations

import math

import numpy as np
import pytest

from central.matching import GroundTruth, MatchConfig, MatchMode, Signals, match
from central.matching.criteria import Criterion
from central.matching.miss_rate import log_average_miss_rate


def _caltech_lamr(scores: list[float], hits: list[bool], n_gt: int, n_images: int) -> float:
    """Caltech's dbEval/bbGt('compRoc') written out point by point, as the oracle."""
    ranked = sorted(zip(scores, hits, strict=True), key=lambda p: -p[0])
    xs, ys, tp, fp = [-math.inf], [0.0], 0, 0
    for _, hit in ranked:
        tp, fp = tp + hit, fp + (not hit)
        xs.append(fp / n_images)
        ys.append(tp / n_gt)
    total = 0.0
    for k in range(9):
        ref = 10 ** (-2 + 0.25 * k)
        j = max(i for i, x in enumerate(xs) if x <= ref)
        total += math.log(max(1e-10, 1 - ys[j]))
    return math.exp(total / 9)


@pytest.mark.parametrize("seed", range(5))
def test_log_average_miss_rate_equals_caltech_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    scores = rng.random(n).round(2)  # rounded: equal scores happen
    hits = rng.random(n) < 0.6
    n_gt = int(hits.sum() + rng.integers(0, 50)) or 1
    got = log_average_miss_rate(scores, hits, n_gt, n_images=200)
    assert got == pytest.approx(_caltech_lamr(scores.tolist(), hits.tolist(), n_gt, 200), rel=1e-12)


def test_log_average_miss_rate_is_none_without_ground_truth() -> None:
    assert log_average_miss_rate(np.array([0.5]), np.array([False]), 0, 10) is None


def _box_rows() -> list[dict]:
    # One small (40 px tall) and one tall (120 px) pedestrian per frame over 10 frames.
    rows = []
    for f in range(10):
        for k, h in enumerate((40.0, 120.0)):
            rows.append(
                {
                    "annotation_id": 2 * f + k,
                    "detection_id": f"p{k}",
                    "frame": f,
                    "t_ms": f * 100.0,
                    "vru_type": "pedestrian",
                    "bbox": [300.0 * k, 10.0, h / 2, h],
                    "occluded": k == 1 and f < 5,
                }
            )
    return rows


def _detections() -> Signals:
    rows = []
    for f in range(10):
        rows.append((f, [300.0, 10.0, 60.0, 120.0], 0.9))  # the tall one, always found
        if f < 4:
            rows.append((f, [0.0, 10.0, 20.0, 40.0], 0.8))  # the small one, found 4 of 10
    rows.append((3, [600.0, 10.0, 30.0, 60.0], 0.3))  # a 60 px false alarm
    return Signals.from_dicts(
        {
            "record_id": i,
            "frame": f,
            "t_video_ms": f * 100.0 + 40.0,
            "vru_type": "pedestrian",
            "bbox": box,
            "confidence": c,
        }
        for i, (f, box, c) in enumerate(rows)
    )


def _config(**overrides: object) -> MatchConfig:
    return MatchConfig(mode=MatchMode.SPATIAL, fps=10.0, frame_count=10, **overrides)  # type: ignore[arg-type]


def test_size_bins_split_recall_precision_and_latency_by_box_height() -> None:
    evaluation = match(GroundTruth.from_dicts(_box_rows()), _detections(), _config()).evaluation
    bins = evaluation.to_dict()["sizeBins"]
    assert bins["labels"] == ["0-50", "50-100", "100-200", "200-inf"]
    assert bins["edgesPx"] == [0.0, 50.0, 100.0, 200.0, None]
    ped = bins["byVruType"]["pedestrian"]
    assert (ped["0-50"]["recall"], ped["0-50"]["missRate"]) == (0.4, 0.6)
    assert ped["100-200"]["recall"] == 1.0 and ped["100-200"]["precision"] == 1.0
    # The false alarm is 60 px tall: it lowers precision of its own bin only.
    assert ped["50-100"]["groundTruth"] == 0 and ped["50-100"]["falsePositives"] == 1
    assert ped["50-100"]["precision"] == 0.0 and ped["50-100"]["recall"] is None
    assert ped["all"]["falsePositives"] == 1 and ped["all"]["truePositives"] == 14
    assert ped["100-200"]["latencyP95Ms"] == pytest.approx(40.0)
    assert bins["byVruType"]["all"]["all"] == ped["all"]
    # Tall ones: all found before any FP, so the miss rate is 0 everywhere (floored at 1e-10).
    assert ped["100-200"]["logAverageMissRate"] == pytest.approx(1e-10)
    # Overall: 14 of 20 found before the one FP at 0.1 FPPI; recall stays 0.7 after it.
    assert ped["all"]["logAverageMissRate"] == pytest.approx(0.3)
    assert bins["byVruType"]["cyclist"]["all"]["groundTruth"] == 0


def test_flags_give_recall_miss_rate_and_latency_but_no_precision() -> None:
    evaluation = match(GroundTruth.from_dicts(_box_rows()), _detections(), _config()).evaluation
    occluded = evaluation.to_dict()["byFlag"]["occluded"]
    assert (occluded["groundTruth"], occluded["recall"], occluded["missRate"]) == (5, 1.0, 0.0)
    assert occluded["precision"] is None and occluded["falsePositives"] is None


def test_no_confidence_gives_no_log_average_miss_rate() -> None:
    plain = Signals.from_dicts(
        {"record_id": 1, "frame": 0, "vru_type": "pedestrian", "bbox": [0, 10, 20, 40]}
        for _ in range(1)
    )
    bins = match(GroundTruth.from_dicts(_box_rows()), plain, _config()).evaluation.size_bins
    assert bins is not None
    assert bins.by_vru_type["all"]["all"].log_average_miss_rate is None


def test_temporal_sessions_have_no_size_bins() -> None:
    gt = GroundTruth.from_dicts(_box_rows())
    outcome = match(gt, Signals.from_arrays(record_id=[1], t_video_ms=[50.0]), MatchConfig())
    assert outcome.evaluation.to_dict()["sizeBins"] is None


def test_custom_bin_edges_are_used() -> None:
    config = _config(size_bin_edges_px=(0, 100, math.inf))
    bins = match(GroundTruth.from_dicts(_box_rows()), _detections(), config).evaluation.size_bins
    assert bins is not None
    assert list(bins.by_vru_type["all"]) == ["all", "0-100", "100-inf"]


@pytest.mark.parametrize("edges", [(), (0.0, 50.0, 50.0), (-1.0, 10.0), (0.0, 100.0, 50.0)])
def test_bad_bin_edges_are_refused(edges: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="edges"):
        _config(size_bin_edges_px=edges)


def test_criteria_on_a_bin_fail_the_session_by_name() -> None:
    criteria = (
        Criterion("recall", 0.9, vru_type="pedestrian", size_bin="100-200"),
        Criterion("recall", 0.9, vru_type="pedestrian", size_bin="0-50"),
        Criterion("missRate", 0.5, size_bin="200-inf"),
    )
    config = _config(min_accuracy=0.0, max_latency_ms=1000.0, criteria=criteria)
    results = match(GroundTruth.from_dicts(_box_rows()), _detections(), config).results
    assert results.passed is False
    assert results.failed_criteria == [
        "recall 0.4 < 0.9 (pedestrian, 0-50 px)",
        "missRate unmeasured (all types, 200-inf px)",
    ]


def test_criteria_met_keep_the_session_passing() -> None:
    criteria = (Criterion("recall", 0.9, vru_type="pedestrian", size_bin="100-200"),)
    config = _config(min_accuracy=0.0, max_latency_ms=1000.0, criteria=criteria)
    results = match(GroundTruth.from_dicts(_box_rows()), _detections(), config).results
    assert results.passed and results.failed_criteria == []
