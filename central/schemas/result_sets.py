"""The result sets of a test session, typed so that every key is in the OpenAPI description.

A running session has a provisional score (:class:`RunningResultSet`, the live matcher's counts so
far); a finished one its final results (:class:`FinalResultSet`, the deterministic pass over every
stored record). ``kind`` tells them apart (``"running"`` or ``"final"``): ``detailed-results``
serves either, ``stop``/``recompute``, ``GET /api/test-sessions/{id}`` and ``test_completed``
the final set.

New result sections (say track metrics, size bins, a confusion matrix) are optional fields of
:class:`FinalResultSet` with their own models, so results stored before them still validate.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field

from central.schemas.base import CamelModel
from central.schemas.evaluation import EvaluationPublic

__all__ = [
    "FinalResultSet",
    "GroupCounts",
    "LatencyHistogram",
    "LatencySummary",
    "ProvisionalTracks",
    "ResultSet",
    "RunningResultSet",
]


class LatencyHistogram(CamelModel):
    edges_ms: list[float]
    counts: list[int] = Field(description="bin i: edgesMs[i] <= latency < edgesMs[i+1]")


class LatencySummary(CamelModel):
    """Latency from ground truth to signal over the true positives, in milliseconds."""

    count: int
    mean_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    histogram: LatencyHistogram


class GroupCounts(CamelModel):
    """One slice of the ground truth: a VRU type, or boxes with a flag."""

    ground_truth: int
    true_positives: int
    false_negatives: int
    false_positives: int | None = Field(
        description="records that claimed this VRU type and matched nothing; null for a flag "
        "(a false positive has no ground truth to carry one)"
    )
    ignored: int = Field(description="ground truth that counts neither way (difficult boxes)")
    precision: float | None
    recall: float | None


class _Counts(CamelModel):
    true_positives: int
    false_positives: int
    false_negatives: int
    repeats: int = Field(description="signals inside an already matched event's window")
    ignored: int = Field(description="records on ground truth marked difficult (spatial)")
    accuracy: float | None = Field(description="TP / (TP + FP + FN); null with all three zero")


class ProvisionalTracks(CamelModel):
    """Ground-truth tracks so far, from the provisional verdicts (docs/metrics.md); the final
    figures are in ``evaluation.tracks``."""

    seen: int = Field(
        description="tracks whose first frame is shown by the latest record's video time "
        "(spatial mode: tracks with a box that is not difficult)"
    )
    detected: int = Field(description="seen tracks with a provisional TP")
    ttfd_p50_ms: float | None = Field(
        description="median time to first detection over the detected tracks; null without one"
    )


class RunningResultSet(_Counts):
    """The provisional score of a running session; FN counts only ground truth that can no
    longer be matched (its window closed, or shown before the latest record)."""

    kind: Literal["running"] = "running"
    provisional: Literal[True] = True
    records: int = Field(description="detection records judged so far")
    elapsed_s: float = Field(description="seconds since the session started")
    duration_s: float | None = Field(description="the configured testDuration")
    progress: float | None = Field(description="elapsedS / durationS, at most 1")
    tracks: ProvisionalTracks


class FinalResultSet(_Counts):
    """The final results: a pure function of ground truth, records and config."""

    kind: Literal["final"] = "final"
    precision: float | None
    recall: float | None
    f1: float | None
    ap50: float | None = Field(description="average precision at IoU 0.5 (spatial mode)")
    ap: float | None = Field(description="average precision over IoU 0.50:0.95 (spatial mode)")
    latency: LatencySummary
    by_vru_type: dict[str, GroupCounts]
    by_flag: dict[str, GroupCounts] = Field(description="occluded, truncated, difficult")
    passed: bool = Field(description="accuracy >= minAccuracy and p95 latency <= maxLatencyMs")
    failed_criteria: list[str] = Field(
        description="each criterion missed, e.g. 'accuracy 0.57 < 0.90', 'p95 latency 145.5 ms "
        "> 100 ms', 'accuracy undefined (no ground truth and no records)', 'p95 latency "
        "unmeasured (no true positive with a video time)'"
    )
    mode: Literal["temporal", "spatial"]
    record_count: int = Field(description="detection records the pass judged")
    dropped_signals: dict[str, int] = Field(
        default_factory=dict,
        description="channel -> signals the rig's kernel or driver dropped while the session "
        "ran; any drop makes the verdict invalid",
    )
    evaluation: EvaluationPublic | None = Field(
        None, description="tracks, size bins, confusion, track metrics (docs/metrics.md)"
    )


ResultSet = Annotated[RunningResultSet | FinalResultSet, Discriminator("kind")]
"""Either result set, told apart by ``kind``."""
