"""Hand-computed cases for each spatial matching rule (per frame, COCO-style, difficult ignored)."""

from __future__ import annotations

from typing import Any

import pytest

from central.matching import (
    GroundTruth,
    MatchConfig,
    MatchMode,
    MatchResult,
    Signals,
    match,
)

SPATIAL = MatchConfig(mode=MatchMode.SPATIAL, fps=30.0)


def _gt(
    annotation_id: int, box: list[float], frame: int = 0, vru: str = "pedestrian", **flags: Any
) -> dict[str, Any]:
    return dict(
        annotation_id=annotation_id,
        detection_id=f"t{annotation_id}",
        frame=frame,
        t_ms=frame * 1000 / 30,
        vru_type=vru,
        bbox=box,
        **flags,
    )


def _det(
    record_id: int,
    box: list[float],
    confidence: float = 0.9,
    frame: int | None = 0,
    vru: str | None = "pedestrian",
    t: float | None = None,
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "bbox": box,
        "confidence": confidence,
        "frame": frame,
        "vru_type": vru,
        "t_video_ms": t,
    }


def _run(
    gt: list[dict[str, Any]], dets: list[dict[str, Any]], config: MatchConfig = SPATIAL
) -> MatchResult:
    return match(GroundTruth.from_dicts(gt), Signals.from_dicts(dets), config)


def _verdicts(result: MatchResult) -> dict[int, tuple[str, int | None]]:
    return {
        r["record_id"]: (r["match_type"], r["annotation_id"]) for r in result.comparisons.to_rows()
    }


BOX = [0.0, 0.0, 10.0, 10.0]


@pytest.mark.parametrize(("height", "kind"), [(5.0, "TP"), (4.99, "FP")])
def test_iou_threshold_is_inclusive(height: float, kind: str) -> None:
    # [0, 0, 10, h] inside [0, 0, 10, 10]: IoU = h / 10.
    result = _run([_gt(1, BOX)], [_det(1, [0.0, 0.0, 10.0, height])])
    assert _verdicts(result)[1][0] == kind
    if kind == "TP":
        assert result.comparisons.iou[0] == pytest.approx(height / 10)
    else:
        assert result.comparisons.to_rows()[0]["iou"] is None  # IoU only with a match
    assert result.results.false_negatives == (0 if kind == "TP" else 1)


def test_configured_iou_threshold_applies() -> None:
    config = MatchConfig(mode=MatchMode.SPATIAL, iou_threshold=0.75)
    assert _verdicts(_run([_gt(1, BOX)], [_det(1, [0, 0, 10, 7])], config))[1][0] == "FP"
    assert _verdicts(_run([_gt(1, BOX)], [_det(1, [0, 0, 10, 7.5])], config))[1][0] == "TP"


def test_higher_confidence_takes_the_box_and_the_duplicate_is_a_false_positive() -> None:
    result = _run([_gt(1, BOX)], [_det(1, BOX, 0.6), _det(2, [0, 0, 10, 9], 0.8)])
    assert _verdicts(result) == {1: ("FP", None), 2: ("TP", 1)}


def test_equal_confidence_goes_in_record_id_order() -> None:
    result = _run([_gt(1, BOX)], [_det(5, [0, 0, 10, 9], 0.7), _det(4, [0, 0, 10, 8], 0.7)])
    assert _verdicts(result) == {4: ("TP", 1), 5: ("FP", None)}


def test_detection_takes_the_unmatched_box_with_the_highest_iou() -> None:
    g1, g2 = [0.0, 0.0, 10.0, 10.0], [2.0, 0.0, 10.0, 10.0]
    # d1 (conf .9) at x=2: IoU .667 with g1, 1.0 with g2 -> g2; d2 (conf .8) at x=1: IoU .818 with
    # both, g2 taken -> g1.
    result = _run(
        [_gt(1, g1), _gt(2, g2)], [_det(1, [2, 0, 10, 10], 0.9), _det(2, [1, 0, 10, 10], 0.8)]
    )
    assert _verdicts(result) == {1: ("TP", 2), 2: ("TP", 1)}


def test_equal_iou_goes_to_the_later_annotation_as_in_pycocotools() -> None:
    # The detection overlaps two boxes symmetrically (IoU 1/3 each, threshold 0.3).
    g1, g2 = [0.0, 0.0, 10.0, 10.0], [10.0, 0.0, 10.0, 10.0]
    config = MatchConfig(mode=MatchMode.SPATIAL, iou_threshold=0.3)
    result = _run([_gt(1, g1), _gt(2, g2)], [_det(1, [5, 0, 10, 10])], config)
    assert _verdicts(result) == {1: ("TP", 2)}


def test_class_must_match() -> None:
    result = _run([_gt(1, BOX, vru="pedestrian")], [_det(1, BOX, vru="cyclist")])
    assert _verdicts(result) == {1: ("FP", None)}
    summary = result.results
    assert (summary.false_positives, summary.false_negatives) == (1, 1)
    assert summary.by_vru_type["cyclist"].false_positives == 1
    assert summary.by_vru_type["pedestrian"].false_negatives == 1


def test_frame_must_match() -> None:
    assert _verdicts(_run([_gt(1, BOX, frame=3)], [_det(1, BOX, frame=4)]))[1][0] == "FP"


def test_difficult_box_is_ignored_never_tp_fp_or_fn() -> None:
    result = _run([_gt(1, BOX, difficult=True)], [_det(1, BOX, 0.9), _det(2, [1, 1, 8, 8], 0.8)])
    assert _verdicts(result) == {1: ("ignored", 1), 2: ("ignored", 1)}
    summary = result.results
    assert (summary.true_positives, summary.false_positives, summary.false_negatives) == (0, 0, 0)
    assert summary.ignored == 2
    assert summary.by_flag["difficult"].ignored == 1
    assert len(result.misses) == 0


def test_undetected_difficult_box_is_not_a_false_negative() -> None:
    result = _run(
        [_gt(1, BOX, difficult=True), _gt(2, [50, 50, 10, 10])], [_det(1, [50, 50, 10, 10])]
    )
    assert result.results.false_negatives == 0
    assert result.results.accuracy == 1.0


def test_regular_box_is_preferred_over_a_better_overlapping_difficult_one() -> None:
    regular, difficult = [0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 10.0, 10.0]
    result = _run([_gt(1, regular), _gt(2, difficult, difficult=True)], [_det(1, [1, 0, 10, 10])])
    assert _verdicts(result) == {1: ("TP", 1)}


def test_iou_with_a_difficult_box_is_over_the_detection_area() -> None:
    # A small detection inside a large difficult region: IoU 0.01, but COCO crowd IoU 1.0.
    result = _run([_gt(1, [0, 0, 100, 100], difficult=True)], [_det(1, [10, 10, 10, 10])])
    assert _verdicts(result) == {1: ("ignored", 1)}
    assert result.comparisons.iou[0] == 1.0


@pytest.mark.parametrize(
    ("t", "frame", "kind"), [(100.0, 3, "TP"), (99.9, 2, "FP"), (133.0, 3, "TP")]
)
def test_frame_comes_from_time_and_fps_when_missing(t: float, frame: int, kind: str) -> None:
    result = _run([_gt(1, BOX, frame=3)], [_det(1, BOX, frame=None, t=t)])
    assert _verdicts(result)[1][0] == kind


def test_time_without_frame_and_without_fps_is_refused() -> None:
    with pytest.raises(ValueError, match="fps"):
        _run([_gt(1, BOX)], [_det(1, BOX, frame=None, t=10.0)], MatchConfig(mode=MatchMode.SPATIAL))


def test_record_without_box_or_class_is_a_false_positive() -> None:
    dets = [{"record_id": 1, "frame": 0, "vru_type": "pedestrian"}, _det(2, BOX, vru=None)]
    assert _verdicts(_run([_gt(1, BOX)], dets)) == {1: ("FP", None), 2: ("FP", None)}


def test_spatial_latency_is_time_minus_the_frame_time() -> None:
    result = _run([_gt(1, BOX, frame=30)], [_det(1, BOX, frame=30, t=1180.0)])
    assert result.latencies.to_rows() == [
        {"record_id": 1, "latency_ms": 180.0, "within_tolerance": True}
    ]


def test_annotation_without_a_box_is_refused_in_spatial_mode() -> None:
    rows = [
        {"annotation_id": 1, "detection_id": "a", "frame": 0, "t_ms": 0.0, "vru_type": "pedestrian"}
    ]
    with pytest.raises(ValueError, match="box"):
        _run(rows, [])


def test_no_detections_scores_zero_ap_and_no_ground_truth_leaves_ap_undefined() -> None:
    missed = _run([_gt(1, BOX)], []).results
    assert (missed.ap, missed.ap50, missed.false_negatives) == (0.0, 0.0, 1)
    nothing = _run([], [_det(1, BOX)]).results
    assert (nothing.ap, nothing.ap50, nothing.false_positives) == (None, None, 1)
