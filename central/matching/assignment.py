"""What a matcher decides, before any metric: a verdict per record and a status per GT unit.

A *GT unit* is what can be missed: a track (temporal event) in temporal mode, an annotated box in
spatial mode. Both matchers fill the same :class:`Assignment`, so metrics and output rows are
computed once for both modes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from central.matching.inputs import Signals

__all__ = ["Assignment", "Verdict", "argsort_ties_by_position", "canonical_order"]


class Verdict(IntEnum):
    """Per-record verdict codes kept in int8 arrays."""

    TP = 0
    FP = 1
    REPEAT = 2
    IGNORED = 3


def canonical_order(signals: Signals) -> NDArray[np.intp]:
    """Permutation that sorts records by record id: the arrival-independent order that every
    tie-break starts from. Record ids are unique, so the fast unstable sort is exact."""
    return np.argsort(signals.record_id)


def argsort_ties_by_position(keys: NDArray[np.float64]) -> NDArray[np.intp]:
    """Like a stable argsort (equal keys keep their position order), but several times faster
    on large arrays: numpy's default sort (SIMD, unstable), then only runs of equal keys are
    re-sorted by position. Keys must not be NaN."""
    order = np.argsort(keys)
    ordered = keys[order]
    tie = ordered[1:] == ordered[:-1]
    if not tie.any():
        return order
    in_run = np.zeros(order.size, dtype=np.bool_)
    in_run[1:] |= tie
    in_run[:-1] |= tie
    runs = np.flatnonzero(in_run)
    order[runs] = order[runs][np.lexsort((order[runs], ordered[runs]))]
    return order


@dataclass(frozen=True, slots=True)
class Assignment:
    """Verdicts of one matching pass.

    Record arrays follow the canonical (record-id) order: entry i is about record
    ``signals[order[i]]``; ``signals`` stays as given, so nothing is copied that is not needed. ``gt_row`` and ``unit_row``
    index rows of the :class:`~central.matching.inputs.GroundTruth`; for a temporal event
    the row is the event's first annotation. ``difference_ms`` is the record's time minus the
    matched ground truth's time (the event's onset in temporal mode, the annotated frame's time in
    spatial mode); a TP's difference is its latency.
    """

    signals: Signals
    order: NDArray[np.intp]
    verdict: NDArray[np.int8]
    gt_row: NDArray[np.int64]
    difference_ms: NDArray[np.float64]
    iou: NDArray[np.float64]
    unit_row: NDArray[np.int64]
    unit_matched: NDArray[np.bool_]
    unit_counted: NDArray[np.bool_]
    """False for units that never count as TP or FN (difficult ground truth in spatial mode)."""
    unit_occluded: NDArray[np.bool_]
    unit_truncated: NDArray[np.bool_]
    unit_difficult: NDArray[np.bool_]
    unit_vru_type: NDArray[np.int8]
