"""Spatial matching: boxed detections against annotated boxes, per frame, as COCO does.

Per (frame, class): detections by descending confidence (ties: lower record id first), each to
the unmatched ground truth of the same class with the highest IoU at or above ``iou_threshold``
(see :mod:`central.matching.greedy` for the exact pycocotools rules it follows). A
detection matched to regular ground truth is a TP, a second detection on the same box a FP (COCO
has no repeats), a detection matched to ``difficult`` ground truth is ``ignored`` (neither TP nor
FP; difficult boxes are COCO crowd regions, so IoU there is intersection over the detection's
area and one region absorbs any number of detections). Difficult ground truth is never a FN.
There is no ``maxDets`` cap here; the AP figures apply COCO's cap of 100 per frame and class.

Other choices:

* a record with a time but no frame is placed on ``floor(t_video_ms * fps / 1000 + 1e-6)``: the
  frame on screen at that instant (the 1e-6 absorbs float error at exact frame boundaries, e.g.
  ``100.0 ms * 30 / 1000``); a time before zero gives a negative frame, which holds no ground
  truth;
* a record without a usable frame, class or box cannot be matched and is a FP;
* a record without confidence counts as confidence 1.0 (a hard decision);
* a TP's latency is ``t_video_ms`` minus the matched frame's ``t_ms`` (none without a time).
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray

from central.matching.assignment import Assignment, Verdict, canonical_order
from central.matching.coco_ap import CocoAp, coco_average_precision
from central.matching.greedy import greedy_match
from central.matching.inputs import VRU_TYPES, GroundTruth, Signals

__all__ = [
    "annotation_rank",
    "frames_of",
    "match_spatial",
    "spatial_average_precision",
    "usable_records",
]

logger = logging.getLogger(__name__)

_FRAME_EPSILON = 1e-6
_N_CLASSES = len(VRU_TYPES)


def frames_of(signals: Signals, fps: float | None) -> NDArray[np.int64]:
    """Each record's frame: its own, else derived from its time (see module docstring), else -1.

    :raises ValueError: some record needs its frame derived and no fps is configured.
    """
    frame = signals.frame.copy()
    derive = (frame < 0) & ~np.isnan(signals.t_video_ms)
    if derive.any():
        if fps is None:
            raise ValueError("records carry a time but no frame; the video's fps is required")
        frame[derive] = np.floor(signals.t_video_ms[derive] * fps / 1000.0 + _FRAME_EPSILON)
        frame[derive & (frame < 0)] = -1
    return frame


def _check_boxes(gt: GroundTruth) -> None:
    missing = np.flatnonzero(np.isnan(gt.bbox).any(axis=1))
    if missing.size:
        raise ValueError(
            f"spatial matching needs a box on every annotation; annotation "
            f"{gt.annotation_id[missing[0]].item()!r} has none"
        )


def usable_records(signals: Signals, frame: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Records with a frame, a class and a box: the only ones that can be matched."""
    return (frame >= 0) & (signals.vru_type >= 0) & ~np.isnan(signals.bbox).any(axis=1)


def annotation_rank(gt: GroundTruth) -> NDArray[np.int64]:
    """Each annotation's rank by id: pycocotools' input order, which breaks equal IoUs."""
    rank = np.empty(len(gt), dtype=np.int64)
    rank[np.argsort(gt.annotation_id)] = np.arange(len(gt))  # ids are unique: any sort is exact
    return rank


def match_spatial(
    gt: GroundTruth, signals: Signals, iou_threshold: float, fps: float | None
) -> Assignment:
    """Apply the spatial rules; see the module docstring.

    :raises ValueError: an annotation has no box, or a record needs fps and none is given.
    """
    _check_boxes(gt)
    order = canonical_order(signals)
    canon = signals.take(order)
    n = len(canon)
    frame = frames_of(canon, fps)
    usable = np.flatnonzero(usable_records(canon, frame))
    score = np.where(np.isnan(canon.confidence), 1.0, canon.confidence)
    match = greedy_match(
        gt_group=gt.frame * _N_CLASSES + gt.vru_type,
        gt_box=gt.bbox,
        gt_ignore=gt.difficult,
        gt_rank=annotation_rank(gt),
        dt_group=frame[usable] * _N_CLASSES + canon.vru_type[usable],
        dt_box=canon.bbox[usable],
        dt_score=score[usable],
        dt_rank=usable.astype(np.int64),
        thresholds=np.array([iou_threshold]),
        max_dets=None,
    )
    gt_row = np.full(n, -1, dtype=np.int64)
    gt_row[usable] = match.gt_index[0]
    iou = np.full(n, np.nan)
    iou[usable] = match.iou[0]
    hit = gt_row >= 0
    on_difficult = np.zeros(n, dtype=np.bool_)
    on_difficult[hit] = gt.difficult[gt_row[hit]]

    verdict = np.full(n, Verdict.FP, dtype=np.int8)
    verdict[hit & ~on_difficult] = Verdict.TP
    verdict[on_difficult] = Verdict.IGNORED
    difference = np.full(n, np.nan)
    difference[hit] = canon.t_video_ms[hit] - gt.t_ms[gt_row[hit]]
    unit_matched = np.zeros(len(gt), dtype=np.bool_)
    unit_matched[gt_row[hit]] = True

    return Assignment(
        signals=signals,
        order=order,
        verdict=verdict,
        gt_row=gt_row,
        difference_ms=difference,
        iou=iou,
        unit_row=np.arange(len(gt), dtype=np.int64),
        unit_matched=unit_matched,
        unit_counted=~gt.difficult,
        unit_occluded=gt.occluded,
        unit_truncated=gt.truncated,
        unit_difficult=gt.difficult,
        unit_vru_type=gt.vru_type,
    )


def spatial_average_precision(gt: GroundTruth, signals: Signals, fps: float | None) -> CocoAp:
    """COCO AP and AP50 of the boxed records (records that cannot be matched take no part).

    :raises ValueError: an annotation has no box, or a record needs fps and none is given.
    """
    _check_boxes(gt)
    canon = signals.take(canonical_order(signals))
    frame = frames_of(canon, fps)
    usable = np.flatnonzero(usable_records(canon, frame))
    score = np.where(np.isnan(canon.confidence), 1.0, canon.confidence)
    return coco_average_precision(
        gt_frame=gt.frame,
        gt_class=gt.vru_type,
        gt_box=gt.bbox,
        gt_ignore=gt.difficult,
        gt_rank=annotation_rank(gt),
        dt_frame=frame[usable],
        dt_class=canon.vru_type[usable],
        dt_box=canon.bbox[usable],
        dt_score=score[usable],
        dt_rank=usable.astype(np.int64),
        n_classes=_N_CLASSES,
    )
