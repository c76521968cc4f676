"""The evaluation section of a session's results (issue #12) and its per-track rows.

``EvaluationPublic`` is the ``evaluation`` key of the final results (what
:mod:`central.matching.evaluation` computes); it is its own model so the results union of
``DetailedResultsPublic`` can embed it as one field. ``TrackResultPublic`` is a row of
``GET /api/test-sessions/{id}/tracks``.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from central.schemas.base import CamelModel, Page
from protocol import VruType

__all__ = [
    "ConfusionPublic",
    "EvaluationPublic",
    "SizeBinsPublic",
    "SliceStatsPublic",
    "TrackQuery",
    "TrackResultPublic",
    "TrackSummaryPublic",
]


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


class EvaluationPublic(CamelModel):
    tracks: dict[str, TrackSummaryPublic] = Field(
        description="per VRU type, plus 'all': time to first detection and never-detected tracks"
    )
    size_bins: SizeBinsPublic | None = Field(description="spatial sessions only")
    by_flag: dict[str, SliceStatsPublic] = Field(description="occluded, truncated, difficult")
    confusion: ConfusionPublic | None = Field(description="spatial sessions only")


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
