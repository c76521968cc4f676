"""The evaluation beyond the verdict (issue #12): figures a release report needs.

:func:`evaluate` builds them from the same inputs and the same assignment as the verdict, so
they are as deterministic as it is. Each figure lives in its own module; this one only gathers
them into one :class:`Evaluation` whose ``to_dict()`` is the ``evaluation`` section of a
session's results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from central.matching.assignment import Assignment
from central.matching.breakdowns import SizeBins, SliceStats, flag_breakdown, size_bins
from central.matching.confusion import Confusion, confusion_matrix
from central.matching.criteria import failed_criteria
from central.matching.inputs import GroundTruth, MatchConfig, MatchMode, Signals
from central.matching.spatial import frames_of
from central.matching.track_metrics import TrackMetrics, track_metrics
from central.matching.tracks import TrackSummary, TrackTable, summarise_tracks, track_table

__all__ = ["Evaluation", "evaluate"]


@dataclass(frozen=True, slots=True)
class Evaluation:
    tracks: TrackTable
    """One row per ground-truth track (stored as rows, not in the summary)."""
    track_summary: dict[str, TrackSummary]
    size_bins: SizeBins | None
    """Spatial mode only."""
    by_flag: dict[str, SliceStats]
    confusion: Confusion | None
    """Spatial mode only."""
    track_metrics: TrackMetrics | None
    """Spatial mode with tracker ids only."""
    failed_criteria: list[str]
    """The session's slice criteria that were not met (also in the results' list)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "tracks": {k: v.to_dict() for k, v in self.track_summary.items()},
            "sizeBins": None if self.size_bins is None else self.size_bins.to_dict(),
            "byFlag": {k: v.to_dict() for k, v in self.by_flag.items()},
            "confusion": None if self.confusion is None else self.confusion.to_dict(),
            "trackMetrics": None if self.track_metrics is None else self.track_metrics.to_dict(),
        }


def _images(gt: GroundTruth, signals: Signals, config: MatchConfig) -> int | None:
    """Frames for false positives per image; None when no record has a confidence to rank by."""
    if not np.any(~np.isnan(signals.confidence)):
        return None
    if config.frame_count is not None:
        return config.frame_count
    frames = frames_of(signals, config.fps)
    return int(np.union1d(gt.frame, frames[frames >= 0]).size)


def evaluate(
    gt: GroundTruth, signals: Signals, assignment: Assignment, config: MatchConfig
) -> Evaluation:
    """Every figure of the evaluation for one matching pass."""
    tracks = track_table(gt, assignment, config.mode)
    bins = confusion = tracking = None
    if config.mode is MatchMode.SPATIAL:
        bins = size_bins(gt, assignment, config.size_bin_edges_px, _images(gt, signals, config))
        confusion = confusion_matrix(gt, signals, config.iou_threshold, config.fps)
        tracking = track_metrics(gt, signals, config.iou_threshold, config.fps)
    return Evaluation(
        tracks=tracks,
        track_summary=summarise_tracks(tracks, config.max_latency_ms),
        size_bins=bins,
        by_flag=flag_breakdown(gt, assignment),
        confusion=confusion,
        track_metrics=tracking,
        failed_criteria=failed_criteria(config.criteria, bins),
    )
