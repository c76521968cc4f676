"""Results of a test session: the verdict, comparison rows and latency figures."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from central.schemas.base import CamelModel, Page
from central.schemas.result_sets import LatencySummary, ResultSet

__all__ = [
    "ComparisonQuery",
    "DetailedResultsPublic",
    "DetectionComparisonPublic",
    "LatencyMeasurementPublic",
    "LatencyMeasurementQuery",
    "LatencyMetricsPublic",
    "LatencySource",
    "MatchTypeFilter",
]


class MatchTypeFilter(StrEnum):
    TP = "TP"
    FP = "FP"
    FN = "FN"
    REPEAT = "repeat"
    IGNORED = "ignored"


class _SessionHead(CamelModel):
    test_session_id: str
    status: str
    failure_reason: str | None
    started_at: datetime | None
    completed_at: datetime | None


class DetailedResultsPublic(_SessionHead):
    final: bool = Field(description="false: provisional figures of a running session")
    results: ResultSet | None = Field(
        description="the final results (kind final) once the session finished, the provisional "
        "score (kind running) while it runs; null before it ran"
    )


class DetectionComparisonPublic(CamelModel):
    id: str
    test_session_id: str
    ground_truth_id: str | None
    detection_event_id: str | None
    match_type: str
    vru_type: str | None
    confidence_score: float | None
    temporal_difference_ms: float | None
    spatial_iou: float | None
    t_video_ms: float | None = Field(
        description="video time (ms) of the detection record, else of the ground truth (FN)"
    )
    channel: str | None
    rig_id: str | None
    frame_number: int | None = Field(
        description="frame of the detection record, else of the ground truth (FN)"
    )
    bbox: list[float] | None = Field(
        description="the detection's box [x, y, width, height] in pixels; null without a box "
        "(a temporal signal, a miss)"
    )
    created_at: datetime


class ComparisonQuery(Page):
    match_type: MatchTypeFilter | None = Field(None, alias="matchType")


class LatencyMetricsPublic(_SessionHead, LatencySummary):
    """The statistics of the true positives' latency (live while running), and more."""

    provisional: bool
    max_latency_ms: float | None = Field(description="the session's latency budget")
    within_tolerance: int | None = Field(description="latencies at or under the budget")
    rig_measured: LatencySummary | None = Field(
        description="stimulus-to-detection latencies the rig paired itself, when any"
    )


class LatencySource(StrEnum):
    GROUND_TRUTH = "groundTruth"
    """From the final pass: a true positive's signal against its ground truth."""
    RIG = "rig"
    """Measured by the rig itself: a detection against the stimulus it paired it with."""


class LatencyMeasurementPublic(CamelModel):
    """One stored latency. Both timestamps are on the video clock, in milliseconds from the
    video's first frame (the sync instant), so ``latencyMs = detectionTimestamp -
    signalTimestamp``."""

    id: str
    test_session_id: str
    detection_event_id: str | None = Field(description="the detection record measured")
    source: LatencySource
    detection_timestamp: float | None = Field(
        description="video time (ms) of the system under test's answer: the detection record; "
        "null for a rig-measured latency of a session without sync"
    )
    signal_timestamp: float | None = Field(
        description="video time (ms) of what it answered: the onset of the ground-truth event "
        "(temporal) or the matched box's frame (spatial); for a rig-measured latency the "
        "stimulus; null for a rig-measured latency of a session without sync"
    )
    latency_ms: float
    within_tolerance: bool = Field(description="latencyMs within the maxLatencyMs budget")
    created_at: datetime


class LatencyMeasurementQuery(Page):
    """Filters of a session's latency rows, in the order of ``detectionTimestamp``."""

    source: LatencySource | None = None
    within_tolerance: bool | None = Field(None, alias="withinTolerance")
    min_latency_ms: float | None = Field(None, alias="minLatencyMs", allow_inf_nan=False)
    max_latency_ms: float | None = Field(None, alias="maxLatencyMs", allow_inf_nan=False)
