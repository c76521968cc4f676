"""The final, deterministic pass: ground truth + records + config -> rows and results.

The result is a pure function of its inputs: records are put in record-id order first and every
tie is broken by ids, never by arrival order, so recomputing (or shuffling the records) gives the
same rows and the same numbers.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from central.matching.assignment import Assignment, Verdict
from central.matching.evaluation import evaluate
from central.matching.inputs import VRU_TYPES, GroundTruth, MatchConfig, MatchMode, Signals
from central.matching.metrics import summarise
from central.matching.outputs import (
    Comparisons,
    Latencies,
    MatchResult,
    MatchType,
    Misses,
)
from central.matching.spatial import match_spatial, spatial_average_precision
from central.matching.temporal import match_temporal

__all__ = ["match"]

logger = logging.getLogger(__name__)

_TYPE_NAMES = np.array([str(v) for v in VRU_TYPES])
_MATCH_TYPE_NAMES = np.array([MatchType.TP, MatchType.FP, MatchType.REPEAT, MatchType.IGNORED])


def _comparisons(a: Assignment, gt: GroundTruth) -> Comparisons:
    return Comparisons(
        record_id=a.signals.record_id[a.order],
        match_type=_MATCH_TYPE_NAMES[a.verdict],
        gt_row=a.gt_row,
        gt_annotation_id=gt.annotation_id,
        temporal_difference_ms=a.difference_ms,
        iou=a.iou,
        confidence=a.signals.confidence[a.order],
    )


def _misses(a: Assignment, gt: GroundTruth) -> Misses:
    rows = a.unit_row[a.unit_counted & ~a.unit_matched]
    rows = rows[np.argsort(gt.annotation_id[rows], kind="stable")]
    return Misses(
        annotation_id=gt.annotation_id[rows],
        detection_id=gt.detection_id[rows],
        vru_type=_TYPE_NAMES[gt.vru_type[rows]],
        frame=gt.frame[rows],
        t_ms=gt.t_ms[rows],
    )


def _latencies(a: Assignment, config: MatchConfig) -> Latencies:
    rows = np.flatnonzero((a.verdict == Verdict.TP) & ~np.isnan(a.difference_ms))
    latency = a.difference_ms[rows]
    return Latencies(
        record_id=a.signals.record_id[a.order[rows]],
        latency_ms=latency,
        within_tolerance=latency <= config.max_latency_ms,
    )


def match(gt: GroundTruth, signals: Signals, config: MatchConfig) -> MatchResult:
    """Match every record of a session against the video's ground truth and score the session.

    :raises ValueError: spatial mode with an annotation lacking a box, or with records that need
        their frame derived from time while ``config.fps`` is None.
    """
    if config.mode is MatchMode.TEMPORAL:
        assignment = match_temporal(gt, signals, config.tolerance_ms)
        ap50 = ap = None
    else:
        assignment = match_spatial(gt, signals, config.iou_threshold, config.fps)
        coco = spatial_average_precision(gt, signals, config.fps)
        ap50, ap = coco.ap50, coco.ap
    evaluation = evaluate(gt, signals, assignment, config)
    results = summarise(assignment, config, ap50=ap50, ap=ap)
    if evaluation.failed_criteria:
        failed = [*results.failed_criteria, *evaluation.failed_criteria]
        results = replace(results, passed=False, failed_criteria=failed)
    logger.debug(
        "matched %d records against %d annotations: TP %d FP %d FN %d",
        len(signals),
        len(gt),
        results.true_positives,
        results.false_positives,
        results.false_negatives,
    )
    return MatchResult(
        comparisons=_comparisons(assignment, gt),
        misses=_misses(assignment, gt),
        latencies=_latencies(assignment, config),
        results=results,
        evaluation=evaluation,
    )
