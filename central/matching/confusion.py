"""Confusion across VRU types: does the model call a cyclist a pedestrian? (issue #12)

Spatial mode only. Detections are matched to ground truth *ignoring class*, per frame, with the
verdict's own rules otherwise (:func:`central.matching.greedy.greedy_match`: by descending
confidence, the unmatched box with the highest IoU at or above the session's threshold,
``difficult`` boxes as crowd regions that absorb detections). Then each pair counts in
(ground-truth type, detected type); a detection matched to nothing counts in the
``background`` row under its type; ground truth nobody matched counts in the ``missed``
column. Detections on difficult boxes, and records without a frame, box or class, do not count.

A diagonal cell is a class-agnostic TP of the right type, so the diagonal can exceed the
verdict's TPs: class-agnostic matching may pair a box the class-aware pass left to another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from central.matching.assignment import canonical_order
from central.matching.greedy import greedy_match
from central.matching.inputs import VRU_TYPES, GroundTruth, Signals
from central.matching.spatial import annotation_rank, frames_of, usable_records

__all__ = ["BACKGROUND", "MISSED", "Confusion", "confusion_matrix"]

BACKGROUND = "background"
MISSED = "missed"
_N = len(VRU_TYPES)


@dataclass(frozen=True, slots=True)
class Confusion:
    counts: NDArray[np.int64]
    """Shape (types + 1, types + 1): rows ground-truth type then background, columns detected
    type then missed; the background/missed corner is always 0."""

    def to_dict(self) -> dict[str, Any]:
        names = [str(v) for v in VRU_TYPES]
        return {
            "rowLabels": [*names, BACKGROUND],
            "columnLabels": [*names, MISSED],
            "counts": self.counts.tolist(),
        }


def confusion_matrix(
    gt: GroundTruth, signals: Signals, iou_threshold: float, fps: float | None
) -> Confusion:
    """Class-agnostic pairs of a spatial session, counted by type; see the module docstring."""
    canon = signals.take(canonical_order(signals))
    frame = frames_of(canon, fps)
    usable = np.flatnonzero(usable_records(canon, frame))
    score = np.where(np.isnan(canon.confidence), 1.0, canon.confidence)
    match = greedy_match(
        gt_group=gt.frame,
        gt_box=gt.bbox,
        gt_ignore=gt.difficult,
        gt_rank=annotation_rank(gt),
        dt_group=frame[usable],
        dt_box=canon.bbox[usable],
        dt_score=score[usable],
        dt_rank=usable.astype(np.int64),
        thresholds=np.array([iou_threshold]),
        max_dets=None,
    )
    gt_index = match.gt_index[0]
    dt_type = canon.vru_type[usable].astype(np.int64)
    hit = gt_index >= 0
    on_difficult = np.zeros(hit.size, dtype=np.bool_)
    on_difficult[hit] = gt.difficult[gt_index[hit]]
    pair = hit & ~on_difficult
    rows = np.full(pair.size, _N, dtype=np.int64)
    rows[pair] = gt.vru_type[gt_index[pair]]
    keep = ~on_difficult
    cells = np.bincount(rows[keep] * (_N + 1) + dt_type[keep], minlength=(_N + 1) ** 2)
    counts = cells.reshape(_N + 1, _N + 1)
    matched = np.zeros(len(gt), dtype=np.bool_)
    matched[gt_index[pair]] = True
    missed = ~matched & ~gt.difficult
    counts[:_N, _N] = np.bincount(gt.vru_type[missed], minlength=_N)
    return Confusion(counts=counts.astype(np.int64))
