"""The evaluation beyond the verdict (issue #12): figures a release report needs per track.

:func:`evaluate` builds them from the same inputs and the same assignment as the verdict, so
they are as deterministic as it is. Each figure lives in its own module; this one only gathers
them into one :class:`Evaluation` whose ``to_dict()`` is the ``evaluation`` section of a
session's results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from central.matching.assignment import Assignment
from central.matching.inputs import GroundTruth, MatchConfig
from central.matching.tracks import TrackSummary, TrackTable, summarise_tracks, track_table

__all__ = ["Evaluation", "evaluate"]


@dataclass(frozen=True, slots=True)
class Evaluation:
    tracks: TrackTable
    """One row per ground-truth track (stored as rows, not in the summary)."""
    track_summary: dict[str, TrackSummary]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tracks": {k: v.to_dict() for k, v in self.track_summary.items()},
        }


def evaluate(gt: GroundTruth, assignment: Assignment, config: MatchConfig) -> Evaluation:
    """Every figure of the evaluation for one matching pass."""
    tracks = track_table(gt, assignment, config.mode)
    return Evaluation(
        tracks=tracks,
        track_summary=summarise_tracks(tracks, config.max_latency_ms),
    )
