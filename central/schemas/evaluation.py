"""The evaluation section of a session's results (issue #12) and its per-track rows.

``EvaluationPublic`` is the ``evaluation`` key of the final results (what
:mod:`central.matching.evaluation` computes); it is its own model so the results union of
``DetailedResultsPublic`` can embed it as one field. ``TrackResultPublic`` is a row of
``GET /api/test-sessions/{id}/tracks``.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from central.matching.breakdowns import DEFAULT_SIZE_BIN_EDGES_PX, bin_labels
from central.matching.criteria import CriterionMetric
from central.schemas.base import CamelModel, Page
from protocol import VruType

__all__ = [
    "SIZE_BIN_EDGES",
    "ConfusionPublic",
    "EvaluationPublic",
    "SessionComparisonPublic",
    "SizeBinEdges",
    "SizeBinsPublic",
    "SliceCriteria",
    "SliceCriterion",
    "SliceStatsPublic",
    "TrackMetricsPublic",
    "TrackQuery",
    "TrackResultPublic",
    "TrackSummaryPublic",
    "check_criteria_bins",
]


_DEFAULT_EDGES = [e for e in DEFAULT_SIZE_BIN_EDGES_PX if e != float("inf")]


def _increasing(edges: list[float]) -> list[float]:
    if not edges:
        raise ValueError("give at least one size bin edge")
    if edges[0] < 0 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError("size bin edges must be increasing numbers from 0 up")
    return edges


def _or(default: list[Any]) -> Any:
    return BeforeValidator(lambda value: list(default) if value is None else value)


SizeBinEdges = Annotated[
    list[Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False)]],
    _or(_DEFAULT_EDGES),
    AfterValidator(_increasing),
    Field(min_length=1, max_length=16),
]
"""Lower box-height edges in px; the last bin is open-ended (``[0, 50]``: 0-50 and 50-inf)."""

SIZE_BIN_EDGES = Field(
    default_factory=lambda: list(_DEFAULT_EDGES),
    description="box-height bin edges in px, increasing; the last bin is open-ended",
)


class SliceCriterion(CamelModel):
    """A pass/fail criterion on a slice: e.g. recall >= 0.9 on pedestrians in bin 100-200."""

    metric: CriterionMetric = Field(
        description="recall and precision must be at least the limit; missRate, "
        "logAverageMissRate and latencyP95Ms at most"
    )
    limit: float = Field(ge=0, le=1_000_000, allow_inf_nan=False)
    vru_type: VruType | None = Field(None, description="null: every type")
    size_bin: str | None = Field(
        None, max_length=32, description="a bin label such as '100-200' or '200-inf'; null: all"
    )


SliceCriteria = Annotated[list[SliceCriterion], _or([]), Field(max_length=32)]


def check_criteria_bins(criteria: list[SliceCriterion], edges: list[float]) -> None:
    """:raises ValueError: a criterion names a bin the session does not have."""
    labels = bin_labels((*edges, float("inf")))
    for c in criteria:
        if c.size_bin is not None and c.size_bin not in labels:
            raise ValueError(f"criterion bin {c.size_bin!r} is not one of {list(labels)}")


class TrackSummaryPublic(CamelModel):
    """Time to first detection (TTFD) over the counted tracks of one VRU type, or all."""

    tracks: int = Field(description="tracks with at least one box that counts (not difficult)")
    detected: int
    never_detected: int
    ttfd_p50_ms: float | None
    ttfd_p95_ms: float | None
    ttfd_max_ms: float | None
    within_budget: float | None = Field(
        description="share of tracks first detected within the latency budget (maxLatencyMs)"
    )


class SliceStatsPublic(CamelModel):
    """Figures of one slice of the ground truth (a size bin of a VRU type, or a flag)."""

    ground_truth: int = Field(description="boxes (events in temporal mode) that count")
    true_positives: int
    false_negatives: int
    false_positives: int | None = Field(description="null for flags: a FP carries no flag")
    recall: float | None
    precision: float | None
    miss_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    log_average_miss_rate: float | None = Field(
        description="Caltech LAMR over FPPI 1e-2..1e0; null without confidences or for flags"
    )


class SizeBinsPublic(CamelModel):
    edges_px: list[float | None] = Field(description="box-height bin edges; null is infinity")
    labels: list[str]
    by_vru_type: dict[str, dict[str, SliceStatsPublic]] = Field(
        description="'all' and each VRU type -> bin label, plus 'all' for every size"
    )


class ConfusionPublic(CamelModel):
    """Class-agnostic matches counted by ground-truth type (rows) and detected type (columns)."""

    row_labels: list[str] = Field(description="VRU types, then 'background' (unmatched detections)")
    column_labels: list[str] = Field(
        description="VRU types, then 'missed' (unmatched ground truth)"
    )
    counts: list[list[int]]


class TrackMetricsPublic(CamelModel):
    """CLEAR-MOT and identity metrics as py-motmetrics computes them, HOTA as TrackEval does."""

    mota: float | None
    motp: float | None = Field(description="mean IoU of matches (py-motmetrics: 1 - this)")
    idf1: float | None
    idp: float | None
    idr: float | None
    matches: int
    false_positives: int
    misses: int
    id_switches: int
    fragmentations: int
    mostly_tracked: int
    partially_tracked: int
    mostly_lost: int
    objects: int
    hypotheses: int
    hota: float
    det_a: float
    ass_a: float
    det_re: float
    det_pr: float
    ass_re: float
    ass_pr: float
    loc_a: float


class EvaluationPublic(CamelModel):
    tracks: dict[str, TrackSummaryPublic] = Field(
        description="per VRU type, plus 'all': time to first detection and never-detected tracks"
    )
    size_bins: SizeBinsPublic | None = Field(description="spatial sessions only")
    by_flag: dict[str, SliceStatsPublic] = Field(description="occluded, truncated, difficult")
    confusion: ConfusionPublic | None = Field(description="spatial sessions only")
    track_metrics: TrackMetricsPublic | None = Field(
        description="spatial sessions whose detections carry a trackId"
    )


class SessionComparisonPublic(CamelModel):
    """Session B against session A on the same video, track by track (``docs/metrics.md``)."""

    session_a: str
    session_b: str
    tracks: int = Field(description="ground-truth tracks counted in both sessions")
    found_in_a_missed_in_b: list[str] = Field(description="track ids B lost")
    missed_in_a_found_in_b: list[str] = Field(description="track ids B gained")
    mcnemar_p: float | None = Field(description="McNemar's exact test; null without a flip")
    latency_difference_ms: float | None = Field(
        description="mean TTFD of B minus A over tracks found in both"
    )
    latency_interval95_ms: list[float] | None = Field(
        description="bootstrap 95 % interval of that difference (fixed seed)"
    )
    verdict: str = Field(description="regressed, improved or 'no significant change'")


class TrackResultPublic(CamelModel):
    """One ground-truth track (one ``detectionId`` across frames) in one session."""

    id: str
    test_session_id: str
    detection_id: str
    vru_type: str
    first_frame: int
    last_frame: int
    frames_seen: int = Field(description="annotated boxes of the track")
    frames_counted: int = Field(description="boxes that count (spatial mode: not difficult)")
    frames_matched: int = Field(description="counted boxes with a TP (temporal: 1 if detected)")
    first_matched_frame: int | None
    ttfd_ms: float | None = Field(
        description="video time from the track's first frame to its first TP"
    )
    recall: float | None
    never_detected: bool
    created_at: datetime


class TrackQuery(Page):
    vru_type: VruType | None = Field(None, alias="vruType", description="only tracks of this type")
    missed: bool | None = Field(
        None, description="true: only tracks never detected; false: only detected ones"
    )
