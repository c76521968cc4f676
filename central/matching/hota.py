"""HOTA (Luiten et al., IJCV 2021), computed as TrackEval's ``metrics/hota.py`` computes it.

For every alpha in ``0.05, 0.10, ..., 0.95``: per frame, ground truth and detections are paired
by a maximum-score assignment, the score being IoU times the *global alignment* of the two
tracks (their summed per-frame IoU-normalised overlap over the union of their lengths); a pair
counts as TP at alpha when its IoU is at least alpha. Then ``DetA = TP / (TP + FN + FP)``,
``AssA`` the TP-weighted mean over matched track pairs of ``TPA / (TPA + FNA + FPA)``, and
``HOTA = sqrt(DetA * AssA)``; the reported figures are means over the nineteen alphas, as
TrackEval reports them.

As in :mod:`central.matching.clear_mot`, a frame whose overlapping pairs are disjoint needs no
assignment (each pair is its own best match); only contested frames run scipy's
``linear_sum_assignment``, on the frame's full matrix as TrackEval builds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from central.matching.frame_pairs import FramePairs
from central.matching.outputs import camel_dict

__all__ = ["ALPHAS", "Hota", "hota"]

ALPHAS = np.arange(0.05, 0.99, 0.05)
"""TrackEval's ``array_labels``, the same expression so the floats are identical."""

_EPS = np.finfo("float").eps


@dataclass(frozen=True, slots=True)
class Hota:
    hota: float
    det_a: float
    ass_a: float
    det_re: float
    det_pr: float
    ass_re: float
    ass_pr: float
    loc_a: float

    def to_dict(self) -> dict[str, Any]:
        return camel_dict(self)


def _assign_contested(
    frames: NDArray[np.int64],
    p_frame: NDArray[np.int64],
    p_gt: NDArray[np.intp],
    p_dt: NDArray[np.intp],
    score: NDArray[np.float64],
    gt_frame: NDArray[np.int64],
    gt_key: NDArray[np.int64],
    dt_frame: NDArray[np.int64],
    dt_key: NDArray[np.int64],
) -> NDArray[np.bool_]:
    """Which pairs of the contested ``frames`` the per-frame assignment keeps."""
    chosen = np.zeros(p_frame.size, dtype=np.bool_)
    g_rows = np.lexsort((gt_key, gt_frame))
    d_rows = np.lexsort((dt_key, dt_frame))
    g_lo = np.searchsorted(gt_frame[g_rows], frames, side="left")
    g_hi = np.searchsorted(gt_frame[g_rows], frames, side="right")
    d_lo = np.searchsorted(dt_frame[d_rows], frames, side="left")
    d_hi = np.searchsorted(dt_frame[d_rows], frames, side="right")
    p_lo = np.searchsorted(p_frame, frames, side="left")
    p_hi = np.searchsorted(p_frame, frames, side="right")
    row_of = np.empty(gt_frame.size, dtype=np.intp)
    col_of = np.empty(dt_frame.size, dtype=np.intp)
    for k in range(frames.size):
        g = g_rows[g_lo[k] : g_hi[k]]
        d = d_rows[d_lo[k] : d_hi[k]]
        row_of[g] = np.arange(g.size)
        col_of[d] = np.arange(d.size)
        span = np.arange(p_lo[k], p_hi[k])
        r, c = row_of[p_gt[span]], col_of[p_dt[span]]
        matrix = np.zeros((g.size, d.size))
        matrix[r, c] = score[span]
        rows, cols = linear_sum_assignment(-matrix)
        picked = np.zeros((g.size, d.size), dtype=np.bool_)
        picked[rows, cols] = True
        chosen[span] = picked[r, c]
    return chosen


def hota(
    gt_frame: NDArray[np.int64],
    obj: NDArray[np.intp],
    dt_frame: NDArray[np.int64],
    hyp: NDArray[np.intp],
    dt_order: NDArray[np.int64],
    pairs: FramePairs,
) -> Hota:
    """HOTA and its sub-metrics; ``pairs`` are all same-frame pairs with a positive IoU, in
    frame order. Within a frame, rows go by ``obj`` and columns by ``dt_order`` (TrackEval's
    order of ``gt_ids`` and ``tracker_ids``)."""
    n_gt, n_dt = obj.size, hyp.size
    n_obj = int(obj.max()) + 1 if n_gt else 0
    n_hyp = int(hyp.max()) + 1 if n_dt else 0
    gt_count = np.bincount(obj, minlength=n_obj).astype(np.float64)
    dt_count = np.bincount(hyp, minlength=n_hyp).astype(np.float64)
    sim = pairs.iou
    denom = (
        np.bincount(pairs.gt, weights=sim, minlength=n_gt)[pairs.gt]
        + np.bincount(pairs.dt, weights=sim, minlength=n_dt)[pairs.dt]
        - sim
    )
    sim_iou = np.where(denom > _EPS, sim / np.where(denom > _EPS, denom, 1.0), 0.0)
    p_obj, p_hyp = obj[pairs.gt], hyp[pairs.dt]
    key = p_obj.astype(np.int64) * max(n_hyp, 1) + p_hyp
    keys, pair_key = np.unique(key, return_inverse=True)
    potential = np.bincount(pair_key, weights=sim_iou, minlength=keys.size)
    k_obj, k_hyp = keys // max(n_hyp, 1), keys % max(n_hyp, 1)
    alignment = potential / (gt_count[k_obj] + dt_count[k_hyp] - potential)
    score = alignment[pair_key] * sim

    per_gt = np.bincount(pairs.gt, minlength=n_gt)
    per_dt = np.bincount(pairs.dt, minlength=n_dt)
    lone = (per_gt[pairs.gt] == 1) & (per_dt[pairs.dt] == 1)
    contested = np.unique(pairs.frame[~lone])
    chosen = ~np.isin(pairs.frame, contested)
    if contested.size:
        chosen |= _assign_contested(
            contested,
            pairs.frame,
            pairs.gt,
            pairs.dt,
            score,
            gt_frame,
            obj.astype(np.int64),
            dt_frame,
            dt_order,
        )
    m_sim, m_key = sim[chosen], pair_key[chosen]

    n_alpha = ALPHAS.size
    tp = np.zeros(n_alpha)
    loc = np.zeros(n_alpha)
    ass_a, ass_re, ass_pr = np.zeros(n_alpha), np.zeros(n_alpha), np.zeros(n_alpha)
    for a, alpha in enumerate(ALPHAS):
        hit = m_sim >= alpha - _EPS
        tp[a] = np.count_nonzero(hit)
        loc[a] = m_sim[hit].sum()
        counts = np.bincount(m_key[hit], minlength=keys.size).astype(np.float64)
        g, d = gt_count[k_obj], dt_count[k_hyp]
        weight = max(1.0, tp[a])
        ass_a[a] = np.sum(counts * counts / np.maximum(1, g + d - counts)) / weight
        ass_re[a] = np.sum(counts * counts / np.maximum(1, g)) / weight
        ass_pr[a] = np.sum(counts * counts / np.maximum(1, d)) / weight
    fn, fp = n_gt - tp, n_dt - tp
    det_a = tp / np.maximum(1, tp + fn + fp)
    loc_a = np.maximum(1e-10, loc) / np.maximum(1e-10, tp)
    return Hota(
        hota=float(np.mean(np.sqrt(det_a * ass_a))),
        det_a=float(np.mean(det_a)),
        ass_a=float(np.mean(ass_a)),
        det_re=float(np.mean(tp / np.maximum(1, tp + fn))),
        det_pr=float(np.mean(tp / np.maximum(1, tp + fp))),
        ass_re=float(np.mean(ass_re)),
        ass_pr=float(np.mean(ass_pr)),
        loc_a=float(np.mean(loc_a)),
    )
