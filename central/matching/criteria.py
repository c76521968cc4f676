"""Extra pass/fail criteria on a slice of the results (issue #12), e.g. "recall >= 0.9 on
pedestrians in the 100-200 px bin".

A criterion names a metric, a limit, and optionally a VRU type and a size bin (a label of the
session's bins such as ``"100-200"``; without one, every size). Recall and precision must be at
least the limit; miss rate, log-average miss rate and p95 latency at most. As with the session's
own criteria, one that cannot be measured (no ground truth in the slice, no bins in temporal
mode, no LAMR without confidences) fails, and every failure is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # inputs imports this module; breakdowns imports inputs
    from central.matching.breakdowns import SizeBins, SliceStats

__all__ = ["Criterion", "CriterionMetric", "failed_criteria"]


class CriterionMetric(StrEnum):
    RECALL = "recall"
    PRECISION = "precision"
    MISS_RATE = "missRate"
    LOG_AVERAGE_MISS_RATE = "logAverageMissRate"
    LATENCY_P95_MS = "latencyP95Ms"


_AT_LEAST = {CriterionMetric.RECALL, CriterionMetric.PRECISION}
_FIELD = {
    CriterionMetric.RECALL: "recall",
    CriterionMetric.PRECISION: "precision",
    CriterionMetric.MISS_RATE: "miss_rate",
    CriterionMetric.LOG_AVERAGE_MISS_RATE: "log_average_miss_rate",
    CriterionMetric.LATENCY_P95_MS: "latency_p95_ms",
}


@dataclass(frozen=True, slots=True)
class Criterion:
    metric: CriterionMetric
    limit: float
    vru_type: str | None = None
    size_bin: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "metric", CriterionMetric(self.metric))

    def describe(self) -> str:
        where = [self.vru_type or "all types", f"{self.size_bin} px" if self.size_bin else None]
        return ", ".join(w for w in where if w)


def _slice_of(criterion: Criterion, bins: SizeBins | None) -> SliceStats | None:
    if bins is None:
        return None
    return bins.by_vru_type.get(criterion.vru_type or "all", {}).get(criterion.size_bin or "all")


def failed_criteria(criteria: tuple[Criterion, ...], bins: SizeBins | None) -> list[str]:
    """One message per criterion not met, e.g. ``"recall 0.82 < 0.9 (pedestrian, 100-200 px)"``."""
    failed = []
    for c in criteria:
        stats = _slice_of(c, bins)
        value = None if stats is None else getattr(stats, _FIELD[c.metric])
        if value is None:
            failed.append(f"{c.metric} unmeasured ({c.describe()})")
        elif c.metric in _AT_LEAST and value < c.limit:
            failed.append(f"{c.metric} {value:.4g} < {c.limit:g} ({c.describe()})")
        elif c.metric not in _AT_LEAST and value > c.limit:
            failed.append(f"{c.metric} {value:.4g} > {c.limit:g} ({c.describe()})")
    return failed
