"""Every (ground truth, detection) pair that shares a frame, with its IoU, built in one pass.

Track metrics (:mod:`central.matching.clear_mot`, :mod:`~.hota`) all start from the overlaps
of each frame's boxes. Rows are grouped by frame with one sort, and each frame's full
``n_gt x n_dt`` block is laid out by ``np.repeat`` arithmetic, so no Python runs per box.
The IoU is py-motmetrics' (``distances.boxiou``: corners ``x + w``, ``y + h``, zero when
the intersection is empty), which TrackEval's ``_calculate_box_ious`` equals for boxes of
positive size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["FramePairs", "frame_pairs", "pair_iou"]


def pair_iou(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """IoU of matching rows of two ``(n, 4)`` arrays of ``[x, y, w, h]`` boxes."""
    lo = np.maximum(a[:, :2], b[:, :2])
    hi = np.minimum(a[:, :2] + a[:, 2:], b[:, :2] + b[:, 2:])
    inter = np.prod(np.maximum(hi - lo, 0.0), axis=1)
    union = np.prod(a[:, 2:], axis=1) + np.prod(b[:, 2:], axis=1) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inter == 0, 0.0, inter / union)


@dataclass(frozen=True, slots=True)
class FramePairs:
    """Pairs in (frame, gt row, dt row) order; rows index the caller's arrays."""

    frame: NDArray[np.int64]
    gt: NDArray[np.intp]
    dt: NDArray[np.intp]
    iou: NDArray[np.float64]


def frame_pairs(
    gt_frame: NDArray[np.int64],
    gt_box: NDArray[np.float64],
    dt_frame: NDArray[np.int64],
    dt_box: NDArray[np.float64],
) -> FramePairs:
    """All same-frame pairs with a positive IoU."""
    g_order = np.lexsort((np.arange(gt_frame.size), gt_frame))
    d_order = np.lexsort((np.arange(dt_frame.size), dt_frame))
    g_frames, g_start, g_count = np.unique(gt_frame[g_order], return_index=True, return_counts=True)
    d_frames, d_start, d_count = np.unique(dt_frame[d_order], return_index=True, return_counts=True)
    _, gi, di = np.intersect1d(g_frames, d_frames, assume_unique=True, return_indices=True)
    ng, nd = g_count[gi], d_count[di]
    sizes = ng * nd
    total = int(sizes.sum())
    block = np.repeat(np.arange(gi.size), sizes)
    within = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    gt_rows = g_order[g_start[gi][block] + within // nd[block]]
    dt_rows = d_order[d_start[di][block] + within % nd[block]]
    iou = pair_iou(gt_box[gt_rows], dt_box[dt_rows])
    keep = iou > 0
    return FramePairs(
        frame=g_frames[gi][block][keep],
        gt=gt_rows[keep],
        dt=dt_rows[keep],
        iou=iou[keep],
    )
