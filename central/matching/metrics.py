"""Metrics and the pass/fail verdict from an :class:`~.assignment.Assignment`.

* ``accuracy = TP / (TP + FP + FN)``; precision, recall and F1 as usual. Repeats and ignored
  detections enter none of them. A ratio whose denominator is zero is None.
* Latency statistics cover true positives that have a video time; percentiles use numpy's
  default linear interpolation. The histogram has the fixed edges ``LATENCY_HISTOGRAM_EDGES_MS``;
  bin i holds ``edges[i] <= latency < edges[i + 1]``, except that the first bin also holds
  everything below 0 ms (a signal inside the tolerance before onset) and the last everything
  from 1000 ms up, so every latency is counted once.
* The session passes when ``accuracy >= min_accuracy`` and ``p95 <= max_latency_ms``. A criterion
  that cannot be measured fails: no ground truth and no records leaves accuracy undefined, and no
  TP with a video time leaves the p95 latency unmeasured. Each failure is named in
  ``failed_criteria`` (e.g. ``"accuracy 0.82 < 0.90"``, ``"p95 latency 240.0 ms > 200 ms"``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from central.matching.assignment import Assignment, Verdict
from central.matching.inputs import VRU_TYPES, MatchConfig
from central.matching.outputs import GroupStats, LatencyStats, Results

__all__ = ["LATENCY_HISTOGRAM_EDGES_MS", "latency_stats", "summarise"]

LATENCY_HISTOGRAM_EDGES_MS: tuple[float, ...] = (
    0.0,
    25.0,
    50.0,
    75.0,
    100.0,
    125.0,
    150.0,
    175.0,
    200.0,
    250.0,
    300.0,
    400.0,
    500.0,
    750.0,
    1000.0,
)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


def latency_stats(latency_ms: NDArray[np.float64]) -> LatencyStats:
    """Summary statistics and fixed-edge histogram of latencies (see module docstring)."""
    edges = np.asarray(LATENCY_HISTOGRAM_EDGES_MS)
    bins = np.clip(np.searchsorted(edges, latency_ms, side="right") - 1, 0, edges.size - 2)
    counts = np.bincount(bins, minlength=edges.size - 1)
    if latency_ms.size == 0:
        return LatencyStats(
            0,
            None,
            None,
            None,
            None,
            None,
            LATENCY_HISTOGRAM_EDGES_MS,
            tuple(int(c) for c in counts),
        )
    p50, p95, p99 = np.percentile(latency_ms, [50, 95, 99]).tolist()
    return LatencyStats(
        count=int(latency_ms.size),
        mean_ms=float(np.mean(latency_ms)),
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        max_ms=float(np.max(latency_ms)),
        histogram_edges_ms=LATENCY_HISTOGRAM_EDGES_MS,
        histogram_counts=tuple(int(c) for c in counts),
    )


def _group(a: Assignment, units: NDArray[np.bool_], fp: int | None) -> GroupStats:
    counted = units & a.unit_counted
    tp = int(np.count_nonzero(counted & a.unit_matched))
    fn = int(np.count_nonzero(counted & ~a.unit_matched))
    return GroupStats(
        ground_truth=int(np.count_nonzero(units)),
        true_positives=tp,
        false_negatives=fn,
        false_positives=fp,
        ignored=int(np.count_nonzero(units & ~a.unit_counted)),
        precision=_ratio(tp, tp + fp) if fp is not None else None,
        recall=_ratio(tp, tp + fn),
    )


def _distinct(a: float, b: float, first_digits: int) -> tuple[str, str]:
    """Format two numbers with the fewest digits (from ``first_digits``) that tell them apart."""
    for digits in (first_digits, first_digits + 2, first_digits + 4):
        sa, sb = f"{a:.{digits}f}", f"{b:.{digits}f}"
        if sa != sb:
            return sa, sb
    return repr(a), repr(b)


def _failures(accuracy: float | None, p95: float | None, config: MatchConfig) -> list[str]:
    failed = []
    if accuracy is None:
        failed.append("accuracy undefined (no ground truth and no records)")
    elif accuracy < config.min_accuracy:
        shown, limit = _distinct(accuracy, config.min_accuracy, 2)
        failed.append(f"accuracy {shown} < {limit}")
    if p95 is None:
        failed.append("p95 latency unmeasured (no true positive with a video time)")
    elif p95 > config.max_latency_ms:
        shown, _ = _distinct(p95, config.max_latency_ms, 1)
        failed.append(f"p95 latency {shown} ms > {config.max_latency_ms:g} ms")
    return failed


def summarise(a: Assignment, config: MatchConfig, ap50: float | None, ap: float | None) -> Results:
    """The :class:`Results` of one assignment."""
    verdict = a.verdict
    tp_records = verdict == Verdict.TP
    tp = int(np.count_nonzero(tp_records))
    fp_records = verdict == Verdict.FP
    fp = int(np.count_nonzero(fp_records))
    fn = int(np.count_nonzero(a.unit_counted & ~a.unit_matched))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    accuracy = _ratio(tp, tp + fp + fn)
    latencies = a.difference_ms[tp_records]
    latency = latency_stats(latencies[~np.isnan(latencies)])

    fp_by_type = np.bincount(
        a.signals.vru_type[a.order[fp_records]] + 1, minlength=len(VRU_TYPES) + 1
    )
    by_vru_type = {
        str(v): _group(a, a.unit_vru_type == code, int(fp_by_type[code + 1]))
        for code, v in enumerate(VRU_TYPES)
    }
    by_flag = {
        "occluded": _group(a, a.unit_occluded, None),
        "truncated": _group(a, a.unit_truncated, None),
        "difficult": _group(a, a.unit_difficult, None),
    }
    failed = _failures(accuracy, latency.p95_ms, config)
    return Results(
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        repeats=int(np.count_nonzero(verdict == Verdict.REPEAT)),
        ignored=int(np.count_nonzero(verdict == Verdict.IGNORED)),
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        accuracy=accuracy,
        ap50=ap50,
        ap=ap,
        latency=latency,
        by_vru_type=by_vru_type,
        by_flag=by_flag,
        passed=not failed,
        failed_criteria=failed,
    )
