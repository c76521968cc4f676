"""Hand-computed cases for each temporal matching rule (DESIGN.md, "Matching and metrics")."""

from __future__ import annotations

from typing import Any

import pytest

from central.matching import GroundTruth, MatchConfig, MatchResult, Signals, match


def _track(
    det: str, onset: float, offset: float, first_id: int, **flags: Any
) -> list[dict[str, Any]]:
    """A track annotated at its onset and offset (frames = ms / 10)."""
    return [
        dict(
            annotation_id=first_id,
            detection_id=det,
            frame=int(onset // 10),
            t_ms=onset,
            vru_type=flags.pop("vru_type", "pedestrian"),
            bbox=[0, 0, 5, 5],
            **flags,
        ),
        {
            "annotation_id": first_id + 1,
            "detection_id": det,
            "frame": int(offset // 10) + 1,
            "t_ms": offset,
            "vru_type": "pedestrian",
            "bbox": [0, 0, 5, 5],
        },
    ]


def _run(
    gt_rows: list[dict[str, Any]], times: dict[int, float | None], tol: float = 100.0, **config: Any
) -> MatchResult:
    signals = Signals.from_dicts([{"record_id": r, "t_video_ms": t} for r, t in times.items()])
    return match(GroundTruth.from_dicts(gt_rows), signals, MatchConfig(tolerance_ms=tol, **config))


def _verdicts(result: MatchResult) -> dict[int, tuple[str, int | None]]:
    return {
        r["record_id"]: (r["match_type"], r["annotation_id"]) for r in result.comparisons.to_rows()
    }


@pytest.mark.parametrize(
    ("t", "kind"),
    [(899.999, "FP"), (900.0, "TP"), (1500.0, "TP"), (2100.0, "TP"), (2100.001, "FP")],
)
def test_window_is_onset_and_offset_widened_by_tolerance_edges_inclusive(
    t: float, kind: str
) -> None:
    result = _run(_track("a", 1000, 2000, 1), {1: t})
    assert _verdicts(result)[1][0] == kind


@pytest.mark.parametrize(
    ("t", "kind"), [(999.0, "FP"), (1000.0, "TP"), (2000.0, "TP"), (2001.0, "FP")]
)
def test_zero_tolerance_window_is_exactly_the_annotated_span(t: float, kind: str) -> None:
    assert _verdicts(_run(_track("a", 1000, 2000, 1), {1: t}, tol=0))[1][0] == kind


def test_latency_is_signal_time_minus_onset_even_before_onset() -> None:
    result = _run(_track("a", 1000, 2000, 1) + _track("b", 5000, 6000, 3), {1: 1120.0, 2: 4950.0})
    rows = {r["record_id"]: r for r in result.latencies.to_rows()}
    assert rows[1]["latency_ms"] == 120.0
    assert rows[2]["latency_ms"] == -50.0
    assert _verdicts(result)[2] == ("TP", 3)


def test_one_event_takes_one_signal_and_later_ones_are_repeats_not_fp() -> None:
    result = _run(_track("a", 1000, 2000, 1), {1: 1100.0, 2: 1200.0, 3: 2050.0, 4: 2500.0})
    assert _verdicts(result) == {1: ("TP", 1), 2: ("repeat", 1), 3: ("repeat", 1), 4: ("FP", None)}
    counts = result.results
    assert (counts.true_positives, counts.repeats, counts.false_positives) == (1, 2, 1)
    assert counts.accuracy == 0.5  # repeats count in neither numerator nor denominator


def test_signal_goes_to_earliest_onset_unmatched_event() -> None:
    # a: window [-100, 3100]; b: [0, 300]. Both hold t=150 and t=160.
    gt = _track("b", 100, 200, 3) + _track("a", 0, 3000, 1)
    result = _run(gt, {10: 150.0, 11: 160.0, 12: 170.0})
    assert _verdicts(result) == {10: ("TP", 1), 11: ("TP", 3), 12: ("repeat", 1)}


def test_a_matched_long_event_does_not_hide_a_later_short_one() -> None:
    # a holds the first signal; the second lies only in b's window and in a's, b is unmatched.
    gt = _track("a", 0, 1000, 1) + _track("b", 500, 600, 3)
    assert _verdicts(_run(gt, {1: 50.0, 2: 550.0}, tol=0)) == {1: ("TP", 1), 2: ("TP", 3)}


def test_an_event_whose_only_signal_went_to_an_earlier_event_is_missed() -> None:
    # a: [0, 1000], b: [0, 100] (equal onset broken by detection id: "a" first).
    gt = _track("b", 0, 100, 3) + _track("a", 0, 1000, 1)
    result = _run(gt, {1: 50.0, 2: 500.0}, tol=0)
    assert _verdicts(result) == {1: ("TP", 1), 2: ("repeat", 1)}
    assert result.misses.to_rows() == [
        {"annotation_id": 3, "detection_id": "b", "vru_type": "pedestrian", "frame": 0, "t_ms": 0.0}
    ]
    assert result.results.false_negatives == 1


def test_equal_onsets_go_to_the_lower_detection_id() -> None:
    gt = _track("zeta", 1000, 2000, 1) + _track("alpha", 1000, 2000, 3)
    assert _verdicts(_run(gt, {1: 1500.0}))[1] == ("TP", 3)


def test_equal_signal_times_go_in_record_id_order() -> None:
    result = _run(_track("a", 1000, 2000, 1), {7: 1500.0, 3: 1500.0})
    assert _verdicts(result) == {3: ("TP", 1), 7: ("repeat", 1)}


def test_record_without_video_time_is_a_false_positive() -> None:
    result = _run(_track("a", 1000, 2000, 1), {1: None, 2: 1000.0})
    assert _verdicts(result) == {1: ("FP", None), 2: ("TP", 1)}


def test_event_window_and_first_annotation_come_from_its_lowest_frame() -> None:
    rows = [
        {
            "annotation_id": 9,
            "detection_id": "a",
            "frame": 10,
            "t_ms": 1000.0,
            "vru_type": "cyclist",
        },
        {
            "annotation_id": 2,
            "detection_id": "a",
            "frame": 30,
            "t_ms": 3000.0,
            "vru_type": "cyclist",
        },
        {
            "annotation_id": 5,
            "detection_id": "a",
            "frame": 20,
            "t_ms": 2000.0,
            "vru_type": "cyclist",
        },
    ]
    result = _run(rows, {1: 3050.0, 2: 3150.0}, tol=100)
    assert _verdicts(result) == {1: ("TP", 9), 2: ("FP", None)}
    assert result.latencies.latency_ms.tolist() == [2050.0]


def test_events_never_signalled_are_false_negatives_with_their_first_annotation() -> None:
    gt = _track("a", 1000, 2000, 1) + _track("b", 5000, 6000, 3, vru_type="cyclist")
    result = _run(gt, {1: 1000.0})
    assert [r["annotation_id"] for r in result.misses.to_rows()] == [3]
    assert result.results.by_vru_type["cyclist"].false_negatives == 1
    assert result.results.by_vru_type["pedestrian"].true_positives == 1


def test_event_carries_a_flag_when_any_of_its_annotations_does() -> None:
    gt = _track("a", 1000, 2000, 1, occluded=True) + _track("b", 5000, 6000, 3)
    result = _run(gt, {1: 1000.0}).results
    assert result.by_flag["occluded"].ground_truth == 1
    assert result.by_flag["occluded"].true_positives == 1
    assert result.by_flag["truncated"].ground_truth == 0


def test_no_ground_truth_and_no_records() -> None:
    result = _run([], {})
    assert len(result.comparisons) == len(result.misses) == len(result.latencies) == 0
    summary = result.results
    assert (summary.true_positives, summary.false_positives, summary.false_negatives) == (0, 0, 0)
    assert summary.accuracy is None
    assert not summary.passed


def test_records_without_ground_truth_are_all_false_positives() -> None:
    result = _run([], {1: 10.0, 2: 20.0})
    assert _verdicts(result) == {1: ("FP", None), 2: ("FP", None)}
    assert result.results.accuracy == 0.0


def test_ground_truth_without_records_is_all_missed() -> None:
    result = _run(_track("a", 1000, 2000, 1) + _track("b", 3000, 4000, 3), {})
    assert result.results.false_negatives == 2
    assert result.results.recall == 0.0
    assert result.results.precision is None


def test_a_missed_event_does_not_shift_the_picks_of_later_events() -> None:
    # a and b share the one signal at 5 ms (b is missed); c then takes its own first signal.
    gt = _track("a", 0, 10, 1) + _track("b", 0, 10, 3) + _track("c", 20, 40, 5)
    result = _run(gt, {1: 5.0, 2: 20.0, 3: 30.0}, tol=0)
    assert _verdicts(result) == {1: ("TP", 1), 2: ("TP", 5), 3: ("repeat", 5)}
    assert result.misses.detection_id.tolist() == ["b"]
