"""Matching and metrics: detection records against ground truth (DESIGN.md, "Matching and metrics").

Pure numpy; no database and no web code. :func:`match` is the final deterministic pass;
:class:`ProvisionalMatcher` gives cheap live verdicts while records arrive.
"""

from central.services.matching.coco_ap import CocoAp, coco_average_precision
from central.services.matching.engine import match
from central.services.matching.inputs import (
    VRU_TYPES,
    GroundTruth,
    MatchConfig,
    MatchMode,
    Signals,
)
from central.services.matching.metrics import LATENCY_HISTOGRAM_EDGES_MS
from central.services.matching.outputs import (
    Comparisons,
    GroupStats,
    Latencies,
    LatencyStats,
    MatchResult,
    MatchType,
    Misses,
    Results,
)
from central.services.matching.provisional import ProvisionalMatcher, ProvisionalVerdicts

__all__ = [
    "LATENCY_HISTOGRAM_EDGES_MS",
    "VRU_TYPES",
    "CocoAp",
    "Comparisons",
    "GroundTruth",
    "GroupStats",
    "Latencies",
    "LatencyStats",
    "MatchConfig",
    "MatchMode",
    "MatchResult",
    "MatchType",
    "Misses",
    "ProvisionalMatcher",
    "ProvisionalVerdicts",
    "Results",
    "Signals",
    "coco_average_precision",
    "match",
]
