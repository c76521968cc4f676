"""Bad input gets a clear ValueError naming what is wrong, before any matching happens."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from central.matching import GroundTruth, MatchConfig, Signals, match


def _gt_row(**over: Any) -> dict[str, Any]:
    row = {
        "annotation_id": 1,
        "detection_id": "a",
        "frame": 0,
        "t_ms": 0.0,
        "vru_type": "pedestrian",
        "bbox": [0, 0, 10, 10],
    }
    row.update(over)
    return row


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (_gt_row(vru_type="horse"), "unknown VRU type 'horse'"),
        (_gt_row(vru_type=None), "'vru_type' is required"),
        (_gt_row(frame=None), "'frame' is required"),
        (_gt_row(frame=-1), "frame must be >= 0"),
        (_gt_row(bbox=[0, 0, 0, 10]), "width and height must be > 0"),
        (_gt_row(bbox=[0, 0, 10]), r"bbox must be \[x, y, w, h\]"),
        (_gt_row(t_ms=None), "'t_ms' is required when no fps is given"),
        (_gt_row(t_ms=float("nan")), "t_ms must be finite"),
    ],
)
def test_bad_ground_truth_is_refused(row: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GroundTruth.from_dicts([row])


def test_ground_truth_time_can_come_from_fps_and_boxes_as_dicts() -> None:
    gt = GroundTruth.from_dicts(
        [_gt_row(frame=30, t_ms=None, bbox={"x": 1, "y": 2, "width": 3, "height": 4})], fps=30.0
    )
    assert gt.t_ms.tolist() == [1000.0]
    assert gt.bbox.tolist() == [[1.0, 2.0, 3.0, 4.0]]


def test_duplicate_annotation_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="annotation_id must be unique; 1 appears more than once"):
        GroundTruth.from_dicts([_gt_row(), _gt_row(frame=1)])


def test_track_whose_time_runs_backwards_is_refused() -> None:
    rows = [_gt_row(), _gt_row(annotation_id=2, frame=5, t_ms=-10.0)]
    with pytest.raises(ValueError, match="track 'a'"):
        match(GroundTruth.from_dicts(rows), Signals.from_dicts([]), MatchConfig())


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"t_video_ms": 1.0}, "'record_id' is required"),
        ({"record_id": 1, "confidence": 1.5}, r"confidence must be within \[0, 1\]"),
        ({"record_id": 1, "vru_type": "dog"}, "unknown VRU type 'dog'"),
        ({"record_id": 1, "t_video_ms": float("inf")}, "t_video_ms must be finite"),
    ],
)
def test_bad_records_are_refused(row: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Signals.from_dicts([row])


def test_record_ids_must_be_unique_and_of_one_kind() -> None:
    with pytest.raises(ValueError, match="record_id must be unique"):
        Signals.from_arrays(record_id=np.array([3, 3]), t_video_ms=[1.0, 2.0])
    with pytest.raises(ValueError, match="not a mix"):
        Signals.from_dicts([{"record_id": 1}, {"record_id": "1"}])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tolerance_ms": -1.0}, "tolerance_ms"),
        ({"min_accuracy": 1.5}, "min_accuracy"),
        ({"iou_threshold": 0.0}, "iou_threshold"),
        ({"fps": 0.0}, "fps"),
        ({"mode": "boxes"}, "boxes"),
    ],
)
def test_bad_config_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MatchConfig(**kwargs)


def test_out_of_range_vru_codes_are_refused_not_wrapped() -> None:
    with pytest.raises(ValueError, match="vru_type codes"):
        Signals.from_arrays(record_id=[1], vru_type=np.array([261]))
