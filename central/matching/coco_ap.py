"""COCO average precision (bbox), computed exactly as pycocotools' COCOeval does.

Reproduces ``evaluate`` + ``accumulate`` + the first two ``summarize`` figures for area range
"all" and ``maxDets = 100``: AP over IoU 0.50:0.95 and AP at IoU 0.50, with 101-point
interpolated precision, per category, averaged over categories that have ground truth. The
numbers equal pycocotools' bit for bit (tests/unit/central/matching/test_coco_ap_equality.py)
because every step uses the same float operations in the same order, down to the final
``np.mean`` over the same flattened array.

Mapping to COCO used for that equality: image id = frame + 1, category id = VRU code + 1 (all
five VRU categories), a ``difficult`` annotation is ``iscrowd = 1`` (pycocotools overwrites an
``ignore`` key with ``iscrowd``, so crowd is its only way to ignore a box), annotations in
annotation-id order, detections in record-id order. A category without non-difficult ground
truth does not count (pycocotools' -1), even if it has detections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from central.matching.greedy import greedy_match

__all__ = [
    "IOU_THRESHOLDS",
    "MAX_DETECTIONS",
    "RECALL_THRESHOLDS",
    "CocoAp",
    "coco_average_precision",
]

# The same expressions as pycocotools' Params.setDetParams, so the floats are identical.
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETECTIONS = 100


@dataclass(frozen=True, slots=True)
class CocoAp:
    ap: float | None
    """AP over IoU 0.50:0.95; None when no category has ground truth (pycocotools: -1)."""
    ap50: float | None


def _mean_valid(precision: NDArray[np.float64]) -> float | None:
    valid = precision[precision > -1]
    return float(np.mean(valid)) if valid.size else None


def coco_average_precision(
    gt_frame: NDArray[np.int64],
    gt_class: NDArray[np.int8],
    gt_box: NDArray[np.float64],
    gt_ignore: NDArray[np.bool_],
    gt_rank: NDArray[np.int64],
    dt_frame: NDArray[np.int64],
    dt_class: NDArray[np.int8],
    dt_box: NDArray[np.float64],
    dt_score: NDArray[np.float64],
    dt_rank: NDArray[np.int64],
    n_classes: int,
) -> CocoAp:
    """AP and AP50 of the detections against the ground truth; see the module docstring.

    ``gt_rank`` / ``dt_rank`` give pycocotools' input order (annotation id / record id rank).
    Classes are codes ``0 .. n_classes - 1``; frames are >= 0.
    """
    match = greedy_match(
        gt_group=gt_frame * n_classes + gt_class,
        gt_box=gt_box,
        gt_ignore=gt_ignore,
        gt_rank=gt_rank,
        dt_group=dt_frame * n_classes + dt_class,
        dt_box=dt_box,
        dt_score=dt_score,
        dt_rank=dt_rank,
        thresholds=IOU_THRESHOLDS,
        max_dets=MAX_DETECTIONS,
    )
    matched = match.gt_index >= 0
    ignored = np.zeros_like(matched)
    ignored[matched] = gt_ignore[match.gt_index[matched]]

    n_t, n_r = IOU_THRESHOLDS.size, RECALL_THRESHOLDS.size
    precision = -np.ones((n_t, n_r, n_classes))
    for k in range(n_classes):
        npig = int(np.count_nonzero((gt_class == k) & ~gt_ignore))
        if npig == 0:
            continue
        sel = np.flatnonzero(match.kept & (dt_class == k))
        # pycocotools concatenates per-image lists in image order, each sorted by score, then
        # stably sorts by score: ties go by image, then by input order.
        sel = sel[np.lexsort((dt_rank[sel], dt_frame[sel], -dt_score[sel]))]
        nd = sel.size
        if nd == 0:
            precision[:, :, k] = 0.0
            continue
        tps = matched[:, sel] & ~ignored[:, sel]
        fps = ~matched[:, sel] & ~ignored[:, sel]
        tp_sum = np.cumsum(tps, axis=1).astype(dtype=float)
        fp_sum = np.cumsum(fps, axis=1).astype(dtype=float)
        recall = tp_sum / npig
        prec = tp_sum / (fp_sum + tp_sum + np.spacing(1))
        prec = np.maximum.accumulate(prec[:, ::-1], axis=1)[:, ::-1]
        for t in range(n_t):
            at = np.searchsorted(recall[t], RECALL_THRESHOLDS, side="left")
            precision[t, :, k] = np.where(at < nd, prec[t, np.minimum(at, nd - 1)], 0.0)
    return CocoAp(ap=_mean_valid(precision), ap50=_mean_valid(precision[:1]))
