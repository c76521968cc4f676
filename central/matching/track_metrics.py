"""Track metrics of a spatial session whose detections carry a tracker id (issue #12).

Which boxes take part:

* detections with a frame, a box and a ``track_id`` (any VRU type: like py-motmetrics and
  TrackEval's MOTChallenge set, the metrics are class-agnostic), in canonical record order;
* ground truth that is not ``difficult``; a detection overlapping a difficult box at the
  session's IoU threshold or more is removed first (TrackEval removes detections matched to
  distractor regions; here any such overlap removes it, one region may absorb several);
* no metrics when no detection carries a track id, or when one track id appears twice in one
  frame (a tracker never reports one identity twice at once; TrackEval refuses such input).

The figures are those of :mod:`central.matching.clear_mot` (py-motmetrics) and
:mod:`central.matching.hota` (TrackEval), at the session's IoU threshold for CLEAR-MOT/IDF1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from central.matching.assignment import canonical_order
from central.matching.clear_mot import ClearMot, clear_mot
from central.matching.frame_pairs import frame_pairs
from central.matching.hota import Hota, hota
from central.matching.inputs import GroundTruth, Signals
from central.matching.spatial import frames_of

__all__ = ["TrackMetrics", "track_metrics"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrackMetrics:
    clear: ClearMot
    hota: Hota

    def to_dict(self) -> dict[str, Any]:
        return {**self.clear.to_dict(), **self.hota.to_dict()}


def track_metrics(
    gt: GroundTruth, signals: Signals, iou_threshold: float, fps: float | None
) -> TrackMetrics | None:
    """The session's track metrics, None when they cannot be had (see the module docstring)."""
    canon = signals.take(canonical_order(signals))
    frame = frames_of(canon, fps)
    tracked = (canon.track_id != "") & (frame >= 0) & ~np.isnan(canon.bbox).any(axis=1)
    if not tracked.any():
        return None
    dt_frame, dt_box = frame[tracked], canon.bbox[tracked]
    hyp_ids, hyp = np.unique(canon.track_id[tracked], return_inverse=True)
    twice = np.unique(dt_frame * hyp_ids.size + hyp, return_counts=True)[1] > 1
    if twice.any():
        logger.warning("a track id appears twice in one frame: no track metrics")
        return None
    hard = gt.difficult
    if hard.any():
        near = frame_pairs(gt.frame[hard], gt.bbox[hard], dt_frame, dt_box)
        drop = np.zeros(dt_frame.size, dtype=np.bool_)
        drop[near.dt[near.iou >= iou_threshold]] = True
        keep = ~drop
        dt_frame, dt_box, hyp = dt_frame[keep], dt_box[keep], hyp[keep]
    counted = ~hard
    gt_frame, gt_box = gt.frame[counted], gt.bbox[counted]
    _, obj = np.unique(gt.detection_id[counted], return_inverse=True)
    obj = obj.reshape(-1)
    hyp = np.unique(hyp, return_inverse=True)[1].reshape(-1)
    order = np.arange(hyp.size, dtype=np.int64)
    pairs = frame_pairs(gt_frame, gt_box, dt_frame, dt_box)
    return TrackMetrics(
        clear=clear_mot(gt_frame, gt_box, obj, dt_frame, dt_box, hyp, order, pairs, iou_threshold),
        hota=hota(gt_frame, obj, dt_frame, hyp, order, pairs),
    )
