"""Outputs of the matching engine: row tables for storage and the summary for the frontend.

Row tables are dataclasses of equal-length arrays in record-id (or annotation) order, with
``to_rows()`` for a database layer. :class:`Results` is the summary; ``to_dict()`` gives the
camelCase contract of the results endpoints and the ``test_completed`` event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from central.matching.evaluation import Evaluation

__all__ = [
    "Comparisons",
    "GroupStats",
    "Latencies",
    "LatencyStats",
    "MatchResult",
    "MatchType",
    "Misses",
    "Results",
    "camel_dict",
]


class MatchType(StrEnum):
    TP = "TP"
    FP = "FP"
    REPEAT = "repeat"
    """Temporal mode: a further signal inside an event that is already matched (not a FP)."""
    IGNORED = "ignored"
    """Spatial mode: a detection on ``difficult`` ground truth (neither TP nor FP)."""


def camel_dict(record: Any) -> dict[str, Any]:
    """A flat dataclass of figures as the camelCase dict of the results contract
    (``ttfd_p50_ms`` -> ``ttfdP50Ms``), field by field in declaration order."""
    out = {}
    for f in fields(record):
        head, *rest = f.name.split("_")
        out[head + "".join(part[:1].upper() + part[1:] for part in rest)] = getattr(record, f.name)
    return out


def _nan_to_none(values: NDArray[np.float64]) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values.tolist()]


@dataclass(frozen=True, slots=True)
class Comparisons:
    """One row per record (the ``detection_comparisons`` table), in record-id order.

    The matched ground truth is ``gt_row``, a row of the ground truth whose annotation ids are
    ``gt_annotation_id`` (for a temporal event: its first annotation; for a repeat: the
    earliest-onset event holding it; -1 for a FP); :attr:`annotation_id` resolves it.
    ``temporal_difference_ms`` is the record's time minus that ground truth's time (NaN if none).
    """

    record_id: NDArray[Any]
    match_type: NDArray[np.str_]
    gt_row: NDArray[np.int64]
    gt_annotation_id: NDArray[Any]
    temporal_difference_ms: NDArray[np.float64]
    iou: NDArray[np.float64]
    confidence: NDArray[np.float64]

    @property
    def annotation_id(self) -> NDArray[np.object_]:
        """Matched annotation id per row, None for a FP (built on demand: it boxes every id)."""
        out = np.full(self.gt_row.size, None, dtype=object)
        hit = self.gt_row >= 0
        out[hit] = self.gt_annotation_id[self.gt_row[hit]]
        return out

    def __len__(self) -> int:
        return int(self.record_id.size)

    def to_rows(self) -> list[dict[str, Any]]:
        """Plain dicts (NaN as None), ready for insertion."""
        return [
            {
                "record_id": rid,
                "match_type": mt,
                "annotation_id": aid,
                "temporal_difference_ms": diff,
                "iou": iou,
                "confidence": conf,
            }
            for rid, mt, aid, diff, iou, conf in zip(
                self.record_id.tolist(),
                self.match_type.tolist(),
                self.annotation_id.tolist(),
                _nan_to_none(self.temporal_difference_ms),
                _nan_to_none(self.iou),
                _nan_to_none(self.confidence),
                strict=True,
            )
        ]


@dataclass(frozen=True, slots=True)
class Misses:
    """False negatives: the ground truth nobody matched (for an event, its first annotation)."""

    annotation_id: NDArray[Any]
    detection_id: NDArray[Any]
    vru_type: NDArray[np.str_]
    frame: NDArray[np.int64]
    t_ms: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.annotation_id.size)

    def to_rows(self) -> list[dict[str, Any]]:
        return [
            {"annotation_id": a, "detection_id": d, "vru_type": v, "frame": f, "t_ms": t}
            for a, d, v, f, t in zip(
                self.annotation_id.tolist(),
                self.detection_id.tolist(),
                self.vru_type.tolist(),
                self.frame.tolist(),
                self.t_ms.tolist(),
                strict=True,
            )
        ]


@dataclass(frozen=True, slots=True)
class Latencies:
    """One row per true positive with a video time (the ``latency_measurements`` table)."""

    record_id: NDArray[Any]
    latency_ms: NDArray[np.float64]
    within_tolerance: NDArray[np.bool_]
    """``latency_ms <= max_latency_ms``."""

    def __len__(self) -> int:
        return int(self.record_id.size)

    def to_rows(self) -> list[dict[str, Any]]:
        return [
            {"record_id": r, "latency_ms": lat, "within_tolerance": ok}
            for r, lat, ok in zip(
                self.record_id.tolist(),
                self.latency_ms.tolist(),
                self.within_tolerance.tolist(),
                strict=True,
            )
        ]


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Statistics of TP latencies; all None when there is none. Percentiles are numpy's default
    (linear interpolation). The histogram has fixed edges (see ``LATENCY_HISTOGRAM_EDGES_MS``)."""

    count: int
    mean_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    histogram_edges_ms: tuple[float, ...]
    histogram_counts: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "meanMs": self.mean_ms,
            "p50Ms": self.p50_ms,
            "p95Ms": self.p95_ms,
            "p99Ms": self.p99_ms,
            "maxMs": self.max_ms,
            "histogram": {
                "edgesMs": list(self.histogram_edges_ms),
                "counts": list(self.histogram_counts),
            },
        }


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Counts for one slice of the ground truth (a VRU type or a flag).

    ``false_positives`` is None for flag slices (a FP has no ground truth to carry a flag); for a
    VRU type it counts FPs whose record claimed that type. ``ignored`` counts ground truth that
    never counts as TP or FN (difficult boxes in spatial mode).
    """

    ground_truth: int
    true_positives: int
    false_negatives: int
    false_positives: int | None
    ignored: int
    precision: float | None
    recall: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "groundTruth": self.ground_truth,
            "truePositives": self.true_positives,
            "falseNegatives": self.false_negatives,
            "falsePositives": self.false_positives,
            "ignored": self.ignored,
            "precision": self.precision,
            "recall": self.recall,
        }


@dataclass(frozen=True, slots=True)
class Results:
    """The session's summary; ratios are None where their denominator is zero."""

    true_positives: int
    false_positives: int
    false_negatives: int
    repeats: int
    ignored: int
    precision: float | None
    recall: float | None
    f1: float | None
    accuracy: float | None
    ap50: float | None
    ap: float | None
    latency: LatencyStats
    by_vru_type: dict[str, GroupStats]
    by_flag: dict[str, GroupStats]
    passed: bool
    failed_criteria: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "truePositives": self.true_positives,
            "falsePositives": self.false_positives,
            "falseNegatives": self.false_negatives,
            "repeats": self.repeats,
            "ignored": self.ignored,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "accuracy": self.accuracy,
            "ap50": self.ap50,
            "ap": self.ap,
            "latency": self.latency.to_dict(),
            "byVruType": {k: v.to_dict() for k, v in self.by_vru_type.items()},
            "byFlag": {k: v.to_dict() for k, v in self.by_flag.items()},
            "passed": self.passed,
            "failedCriteria": list(self.failed_criteria),
        }


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Everything one final pass produces."""

    comparisons: Comparisons
    misses: Misses
    latencies: Latencies
    results: Results
    evaluation: Evaluation
