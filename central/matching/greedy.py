"""COCO's per-image greedy box matching (``COCOeval.evaluateImg``), vectorised across groups.

A *group* is one (frame, class) pair. Within a group, detections are taken by descending score
(ties: lower rank first, as pycocotools' stable sort keeps input order) and each goes to the
still-unmatched ground truth with the highest IoU at or above the threshold. As in pycocotools:

* the threshold is ``min(t, 1 - 1e-10)``, and among equal IoUs the *later* ground truth wins
  (its loop replaces the best match on ``>=``);
* ignored ground truth (crowd in COCO; here: ``difficult``) is tried only when no regular one
  matches, can absorb any number of detections, and its IoU is intersection over the
  detection's area (pycocotools' crowd rule);
* only the ``max_dets`` best detections of a group take part (None: all of them).

Instead of pycocotools' triple Python loop (threshold, detection, ground truth), this walks the
detection *rank* r = 0, 1, ...: step r matches the r-th detection of every group at once, for all
thresholds at once, against that group's ground truth padded to the step's widest group. The
number of steps is the largest group's detection count (at most ``max_dets``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["GreedyMatch", "box_iou", "greedy_match"]

_MAX_THRESHOLD = 1 - 1e-10


@dataclass(frozen=True, slots=True)
class GreedyMatch:
    """Per detection (input order): whether it took part and, per threshold, its match."""

    kept: NDArray[np.bool_]
    """False for detections beyond ``max_dets`` in their group."""
    gt_index: NDArray[np.int64]
    """Shape (T, D): matched ground-truth index (input order), -1 if none."""
    iou: NDArray[np.float64]
    """Shape (T, D): IoU with the matched ground truth, NaN if none."""


def box_iou(
    dt: NDArray[np.float64], gt: NDArray[np.float64], crowd: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """IoU of ``[x, y, w, h]`` boxes (broadcasting), with pycocotools' exact arithmetic
    (``maskApi.c`` ``bbIou``), so thresholds decide the same way bit for bit."""
    w = np.minimum(dt[..., 2] + dt[..., 0], gt[..., 2] + gt[..., 0]) - np.maximum(
        dt[..., 0], gt[..., 0]
    )
    h = np.minimum(dt[..., 3] + dt[..., 1], gt[..., 3] + gt[..., 1]) - np.maximum(
        dt[..., 1], gt[..., 1]
    )
    inter = w * h
    dt_area = dt[..., 2] * dt[..., 3]
    union = np.where(crowd, dt_area, dt_area + gt[..., 2] * gt[..., 3] - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((w > 0) & (h > 0), inter / union, 0.0)


def _last_best(values: NDArray[np.float64]) -> NDArray[np.intp]:
    """Index of the last maximum along the last axis."""
    return values.shape[-1] - 1 - np.argmax(values[..., ::-1], axis=-1)


def greedy_match(
    gt_group: NDArray[np.int64],
    gt_box: NDArray[np.float64],
    gt_ignore: NDArray[np.bool_],
    gt_rank: NDArray[np.int64],
    dt_group: NDArray[np.int64],
    dt_box: NDArray[np.float64],
    dt_score: NDArray[np.float64],
    dt_rank: NDArray[np.int64],
    thresholds: NDArray[np.float64],
    max_dets: int | None,
) -> GreedyMatch:
    """Match detections to ground truth group by group; see the module docstring.

    ``gt_rank`` and ``dt_rank`` order ties (lower first), standing in for pycocotools' input order.
    """
    n_t, n_dt = thresholds.size, dt_group.size
    gt_index = np.full((n_t, n_dt), -1, dtype=np.int64)
    iou_out = np.full((n_t, n_dt), np.nan)
    kept = np.zeros(n_dt, dtype=np.bool_)
    if n_dt == 0:
        return GreedyMatch(kept, gt_index, iou_out)

    d_order = np.lexsort((dt_rank, -dt_score, dt_group))
    d_groups = dt_group[d_order]
    d_start = np.flatnonzero(np.r_[True, d_groups[1:] != d_groups[:-1]])
    d_count = np.diff(np.r_[d_start, n_dt])
    groups = d_groups[d_start]
    limit = int(d_count.max()) if max_dets is None else min(int(d_count.max()), max_dets)
    position = np.arange(n_dt) - np.repeat(d_start, d_count)
    kept[d_order[position < limit]] = True

    g_order = np.lexsort((gt_rank, gt_ignore, gt_group))
    g_groups = gt_group[g_order]
    g_box = gt_box[g_order]
    g_ignore = gt_ignore[g_order]
    g_start = np.searchsorted(g_groups, groups, side="left")
    g_count = np.searchsorted(g_groups, groups, side="right") - g_start

    # Widest groups first, so the groups still active at step r are a prefix.
    by_size = np.argsort(-d_count, kind="stable")
    d_start, d_count = d_start[by_size], d_count[by_size]
    g_start, g_count = g_start[by_size], g_count[by_size]
    thr = np.minimum(thresholds, _MAX_THRESHOLD)[:, None, None]
    consumed = np.zeros((n_t, g_order.size), dtype=np.bool_)

    for r in range(limit):
        active = int(np.searchsorted(-d_count, -r, side="left"))
        width = int(g_count[:active].max()) if active else 0
        if width == 0:
            continue
        det = d_order[d_start[:active] + r]
        cols = np.arange(width)
        valid = cols < g_count[:active, None]
        slots = np.where(valid, g_start[:active, None] + cols, 0)
        ignore = g_ignore[slots]
        iou = box_iou(dt_box[det][:, None, :], g_box[slots], ignore)
        candidate = valid & (iou >= thr) & (ignore | ~consumed[:, slots])
        regular = candidate & ~ignore
        crowd = candidate & ignore
        pick = np.where(
            regular.any(axis=-1),
            _last_best(np.where(regular, iou, -1.0)),
            np.where(crowd.any(axis=-1), _last_best(np.where(crowd, iou, -1.0)), -1),
        )
        t_idx, a_idx = np.nonzero(pick >= 0)
        chosen = slots[a_idx, pick[t_idx, a_idx]]
        consumed[t_idx, chosen] = True
        gt_index[t_idx, det[a_idx]] = g_order[chosen]
        iou_out[t_idx, det[a_idx]] = iou[a_idx, pick[t_idx, a_idx]]
    return GreedyMatch(kept, gt_index, iou_out)
