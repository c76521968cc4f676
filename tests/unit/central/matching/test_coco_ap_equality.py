"""Spatial AP, AP50 and per-detection matches equal pycocotools' COCOeval on the same data.

Mapping (documented in central.matching.coco_ap): image id = frame + 1, category id =
VRU code + 1 for all five VRU types, difficult = iscrowd 1, annotations in annotation-id order,
detections in record-id order, annotation ids from 1. Scores are rounded to a coarse grid so
equal scores (the tie-break path) are common.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from central.matching import (
    VRU_TYPES,
    GroundTruth,
    MatchConfig,
    MatchMode,
    Signals,
    match,
)

N_FRAMES = 12


def _random_box(rng: np.random.Generator) -> list[float]:
    return [
        float(rng.uniform(0, 300)),
        float(rng.uniform(0, 200)),
        float(rng.uniform(5, 80)),
        float(rng.uniform(5, 80)),
    ]


def _dataset(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    gt_rows: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    n_classes = int(rng.integers(2, 6))  # some categories have no ground truth at all
    for frame in range(N_FRAMES):
        for _ in range(int(rng.integers(0, 8))):
            box = _random_box(rng)
            cls = str(VRU_TYPES[int(rng.integers(0, n_classes))])
            gt_rows.append(
                {
                    "annotation_id": len(gt_rows) + 1,
                    "detection_id": f"t{len(gt_rows)}",
                    "frame": frame,
                    "t_ms": frame * 40.0,
                    "vru_type": cls,
                    "bbox": box,
                    "difficult": bool(rng.random() < 0.15),
                }
            )
            for _ in range(int(rng.choice([0, 1, 1, 2, 3]))):  # hits, near misses, duplicates
                jitter = rng.normal(0, rng.choice([1.0, 6.0, 15.0]), 4)
                det = [
                    box[0] + jitter[0],
                    box[1] + jitter[1],
                    max(1.0, box[2] + jitter[2]),
                    max(1.0, box[3] + jitter[3]),
                ]
                wrong = rng.random() < 0.1
                det_cls = str(VRU_TYPES[int(rng.integers(0, 5))]) if wrong else cls
                records.append({"frame": frame, "vru_type": det_cls, "bbox": det})
        for _ in range(int(rng.integers(0, 4))):  # pure false positives
            records.append(
                {
                    "frame": frame,
                    "vru_type": str(VRU_TYPES[int(rng.integers(0, 5))]),
                    "bbox": _random_box(rng),
                }
            )
    order = rng.permutation(len(records))
    for rid, i in enumerate(order):
        records[i]["record_id"] = rid
        records[i]["confidence"] = float(np.round(rng.random() * 20) / 20)
    return gt_rows, records


def _pycocotools(gt_rows: list[dict[str, Any]], records: list[dict[str, Any]]) -> COCOeval:
    codes = {str(v): i for i, v in enumerate(VRU_TYPES)}
    dataset = {
        "images": [{"id": f + 1, "width": 400, "height": 300} for f in range(N_FRAMES)],
        "categories": [{"id": i + 1, "name": str(v)} for i, v in enumerate(VRU_TYPES)],
        "annotations": [
            {
                "id": g["annotation_id"],
                "image_id": g["frame"] + 1,
                "category_id": codes[g["vru_type"]] + 1,
                "bbox": g["bbox"],
                "area": g["bbox"][2] * g["bbox"][3],
                "iscrowd": int(g["difficult"]),
            }
            for g in sorted(gt_rows, key=lambda g: g["annotation_id"])
        ],
    }
    detections = [
        {
            "image_id": r["frame"] + 1,
            "category_id": codes[r["vru_type"]] + 1,
            "bbox": r["bbox"],
            "score": r["confidence"],
        }
        for r in sorted(records, key=lambda r: r["record_id"])
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        evaluation = COCOeval(coco_gt, coco_gt.loadRes(detections), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation


def _none_as_minus_one(value: float | None) -> float:
    return -1.0 if value is None else value


@pytest.mark.parametrize("seed", range(12))
def test_ap_and_ap50_equal_pycocotools_exactly(seed: int) -> None:
    gt_rows, records = _dataset(seed)
    reference = _pycocotools(gt_rows, records)
    result = match(
        GroundTruth.from_dicts(gt_rows),
        Signals.from_dicts(records),
        MatchConfig(mode=MatchMode.SPATIAL),
    ).results
    assert _none_as_minus_one(result.ap) == reference.stats[0]
    assert _none_as_minus_one(result.ap50) == reference.stats[1]


@pytest.mark.parametrize("seed", range(6))
def test_each_detection_is_matched_like_pycocotools_at_iou_half(seed: int) -> None:
    gt_rows, records = _dataset(seed)
    reference = _pycocotools(gt_rows, records)
    expected: dict[int, tuple[str, int | None]] = {}
    for image in reference.evalImgs:
        if image is None or image["aRng"] != [0, 1e10]:
            continue
        for dt_id, gt_id, ignored in zip(
            image["dtIds"], image["dtMatches"][0], image["dtIgnore"][0], strict=True
        ):
            kind = "FP" if gt_id == 0 else ("ignored" if ignored else "TP")
            expected[dt_id - 1] = (kind, int(gt_id) or None)  # loadRes numbers detections from 1
    result = match(
        GroundTruth.from_dicts(gt_rows),
        Signals.from_dicts(records),
        MatchConfig(mode=MatchMode.SPATIAL, iou_threshold=0.5),
    )
    got = {
        r["record_id"]: (r["match_type"], r["annotation_id"]) for r in result.comparisons.to_rows()
    }
    assert got == expected


def test_a_perfect_detection_set_scores_ap_one() -> None:
    gt_rows, _ = _dataset(3)
    records = [
        {
            "record_id": i,
            "frame": g["frame"],
            "vru_type": g["vru_type"],
            "bbox": g["bbox"],
            "confidence": 0.9,
        }
        for i, g in enumerate(gt_rows)
        if not g["difficult"]
    ]
    result = match(
        GroundTruth.from_dicts(gt_rows),
        Signals.from_dicts(records),
        MatchConfig(mode=MatchMode.SPATIAL),
    ).results
    assert result.ap == 1.0
    assert result.ap50 == 1.0
    assert result.false_positives == 0
    assert result.false_negatives == 0


def test_only_the_best_hundred_detections_per_frame_and_class_count_as_in_cocoeval() -> None:
    rng = np.random.default_rng(7)
    gt_rows, records = _dataset(7)
    # Frame 0 gets 150 extra pedestrian detections, many of them on its boxes.
    targets = [g["bbox"] for g in gt_rows if g["frame"] == 0] or [[10.0, 10.0, 30.0, 30.0]]
    for i in range(150):
        box = targets[i % len(targets)]
        records.append(
            {
                "record_id": len(records) + i,
                "frame": 0,
                "vru_type": "pedestrian",
                "bbox": [box[0] + rng.normal(0, 3), box[1] + rng.normal(0, 3), box[2], box[3]],
                "confidence": float(np.round(rng.random() * 20) / 20),
            }
        )
    reference = _pycocotools(gt_rows, records)
    result = match(
        GroundTruth.from_dicts(gt_rows),
        Signals.from_dicts(records),
        MatchConfig(mode=MatchMode.SPATIAL),
    ).results
    assert _none_as_minus_one(result.ap) == reference.stats[0]
    assert _none_as_minus_one(result.ap50) == reference.stats[1]
