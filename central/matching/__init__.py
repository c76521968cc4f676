"""Matching and metrics: detection records against ground truth (DESIGN.md, "Matching and metrics").

Pure numpy; no database and no web code. :func:`match` is the final deterministic pass;
:class:`ProvisionalMatcher` gives cheap live verdicts while records arrive.

Decisions the design left open (each module's docstring has the detail):

* Ties: records by ``(t_video_ms, record_id)`` (temporal) or ``(confidence desc, record_id)``
  (spatial); events by ``(onset, detection_id)``; equal IoUs go to the later annotation (by
  annotation id), as in pycocotools. Results never depend on arrival order.
* Temporal: a record without video time is a FP; the record's VRU type does not take part;
  ``difficult`` only feeds breakdowns.
* Spatial: ``difficult`` ground truth is a COCO crowd region (``iscrowd = 1``, pycocotools' only
  way to ignore a box): never TP or FN, detections on it are ``ignored`` (IoU over the detection's
  area, any number of them). Frame from time: ``floor(t * fps / 1000 + 1e-6)``. A record without
  confidence counts as 1.0; one without frame, class or box is a FP. Duplicates are FPs (no
  repeats in spatial mode). AP: all five VRU categories, maxDets 100, area "all"; equal to
  pycocotools bit for bit.
* Metrics: a ratio with a zero denominator is None; latency is over TPs with a video time
  (negative when the signal came within the tolerance before onset); percentiles are numpy's
  linear ones; the histogram has fixed edges (``LATENCY_HISTOGRAM_EDGES_MS``), the end bins
  taking everything beyond them. A criterion that cannot be measured (accuracy with nothing to
  count, p95 with no latency) fails and is named in ``failed_criteria``.
"""

from central.matching.coco_ap import CocoAp, coco_average_precision
from central.matching.engine import match
from central.matching.inputs import (
    VRU_TYPES,
    GroundTruth,
    MatchConfig,
    MatchMode,
    Signals,
)
from central.matching.metrics import LATENCY_HISTOGRAM_EDGES_MS
from central.matching.outputs import (
    Comparisons,
    GroupStats,
    Latencies,
    LatencyStats,
    MatchResult,
    MatchType,
    Misses,
    Results,
)
from central.matching.provisional import ProvisionalMatcher, ProvisionalVerdicts

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
