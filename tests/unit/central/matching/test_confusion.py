"""Confusion across VRU types: class-agnostic matching, counted by true and detected type."""

from __future__ import annotations

import numpy as np

from central.matching import GroundTruth, MatchConfig, MatchMode, Signals, match

TYPES = ["pedestrian", "cyclist", "motorcyclist", "wheelchair_user", "scooter_rider"]


def _gt() -> GroundTruth:
    boxes = [("pedestrian", 0.0), ("cyclist", 200.0), ("cyclist", 400.0), ("pedestrian", 600.0)]
    rows = [
        {
            "annotation_id": i,
            "detection_id": f"t{i}",
            "frame": 0,
            "t_ms": 0.0,
            "vru_type": vru,
            "bbox": [x, 10.0, 40.0, 80.0],
            "difficult": i == 3,
        }
        for i, (vru, x) in enumerate(boxes)
    ]
    return GroundTruth.from_dicts(rows)


def test_confusion_counts_true_type_against_detected_type() -> None:
    detections = [
        ("pedestrian", 1.0),  # right
        ("pedestrian", 201.0),  # a cyclist called a pedestrian
        ("scooter_rider", 900.0),  # nothing there: background
        ("cyclist", 601.0),  # on a difficult box: not counted
    ]
    signals = Signals.from_dicts(
        {"record_id": i, "frame": 0, "vru_type": v, "bbox": [x, 10.0, 40.0, 80.0]}
        for i, (v, x) in enumerate(detections)
    )
    config = MatchConfig(mode=MatchMode.SPATIAL, fps=10.0)
    confusion = match(_gt(), signals, config).evaluation.to_dict()["confusion"]
    assert confusion["rowLabels"] == [*TYPES, "background"]
    assert confusion["columnLabels"] == [*TYPES, "missed"]
    counts = np.array(confusion["counts"])
    expected = np.zeros((6, 6), dtype=int)
    expected[0, 0] = 1
    expected[1, 0] = 1
    expected[1, 5] = 1  # the cyclist at x=400 was never found
    expected[5, 4] = 1
    assert (counts == expected).all()


def test_temporal_sessions_have_no_confusion() -> None:
    outcome = match(_gt(), Signals.from_arrays(record_id=[1], t_video_ms=[0.0]), MatchConfig())
    assert outcome.evaluation.to_dict()["confusion"] is None
