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

from central.services.matching.inputs import Signals

__all__ = ["Assignment", "Verdict", "canonical_order"]


class Verdict(IntEnum):
    """Per-record verdict codes kept in int8 arrays."""

    TP = 0
    FP = 1
    REPEAT = 2
    IGNORED = 3


def canonical_order(signals: Signals) -> NDArray[np.intp]:
    """Permutation that sorts records by record id: the arrival-independent order that every
    tie-break starts from."""
    return np.argsort(signals.record_id, kind="stable")


@dataclass(frozen=True, slots=True)
class Assignment:
    """Verdicts of one matching pass.

    Record arrays follow ``signals`` (canonical, record-id order). ``gt_row`` and ``unit_row``
    index rows of the :class:`~central.services.matching.inputs.GroundTruth`; for a temporal event
    the row is the event's first annotation. ``difference_ms`` is the record's time minus the
    matched ground truth's time (the event's onset in temporal mode, the annotated frame's time in
    spatial mode); a TP's difference is its latency.
    """

    signals: Signals
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
