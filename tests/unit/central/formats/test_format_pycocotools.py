"""COCO exports load in pycocotools and score a perfect detection set at AP 1.0."""

from __future__ import annotations

import contextlib
import io

import pytest

pycocotools_coco = pytest.importorskip("pycocotools.coco")
pycocotools_eval = pytest.importorskip("pycocotools.cocoeval")


def _evaluate(ground_truth_path, detections):
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = pycocotools_coco.COCO(str(ground_truth_path))
        results = ground_truth.loadRes(detections)
        evaluation = pycocotools_eval.COCOeval(ground_truth, results, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return ground_truth, evaluation.stats


def _detections(coco, shift: float = 0.0):
    return [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": [a["bbox"][0] + shift, *a["bbox"][1:]],
            "score": 0.9,
        }
        for a in coco.dataset["annotations"]
    ]


def test_perfect_detections_score_ap_one(h, video, annotations, tmp_path):
    path = tmp_path / "gt.json"
    path.write_bytes(h.export("coco", video, annotations))

    with contextlib.redirect_stdout(io.StringIO()):
        loaded = pycocotools_coco.COCO(str(path))
    assert len(loaded.getImgIds()) == 6
    assert sorted(loaded.getCatIds()) == [1, 2, 3, 4, 5]

    _, stats = _evaluate(path, _detections(loaded))
    assert stats[0] == pytest.approx(1.0)  # AP 0.50:0.95
    assert stats[1] == pytest.approx(1.0)  # AP 0.50


def test_shifted_detections_score_below_one(h, video, annotations, tmp_path):
    """The AP 1.0 above is earned: boxes moved by 15 px score less."""
    path = tmp_path / "gt.json"
    path.write_bytes(h.export("coco", video, annotations))
    with contextlib.redirect_stdout(io.StringIO()):
        loaded = pycocotools_coco.COCO(str(path))

    _, stats = _evaluate(path, _detections(loaded, shift=15.0))
    assert stats[0] < 0.9
