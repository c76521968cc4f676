"""Per ground-truth track results: when each VRU was first reported, and which were never seen.

A *track* is one ``detection_id`` across frames (issue #12). From the matcher's
:class:`~.assignment.Assignment` (the same greedy verdicts the session is scored on):

* first and last frame, and ``frames_seen``: the track's annotated boxes;
* ``frames_counted``: the boxes that count (spatial mode leaves ``difficult`` boxes out; a track
  whose every box is difficult counts for nothing and is left out of the summaries);
* ``first_matched_frame``: spatial mode, the lowest frame with a TP on the track; temporal mode,
  the track's annotated frame on screen when its TP signal came (its first frame if the signal
  came within the tolerance before onset);
* ``ttfd_ms`` (time to first detection): the earliest TP's video time minus the track's first
  frame's time, on the session's video clock. A TP record without a video time counts at its
  matched frame's time;
* ``recall``: spatial mode, matched counted boxes over counted boxes; temporal mode, 1 or 0
  (the event was found or not: an event has one TP);
* ``never_detected``: a counted track with no TP.

Summaries per VRU type (and ``all``): TTFD p50/p95/max over detected tracks (numpy's linear
percentiles), the share of counted tracks first detected within the latency budget
(``ttfd_ms <= max_latency_ms``; a never-detected track is not within it) and the never-detected
count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from central.matching.assignment import Assignment, Verdict
from central.matching.inputs import VRU_TYPES, GroundTruth, MatchMode
from central.matching.outputs import camel_dict

__all__ = ["TrackSummary", "TrackTable", "summarise_tracks", "track_index", "track_table"]

_TYPE_NAMES = np.array([str(v) for v in VRU_TYPES])


def track_index(gt: GroundTruth) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """The distinct track ids (sorted) and, per annotation, the index of its track."""
    ids, inverse = np.unique(gt.detection_id, return_inverse=True)
    return ids, inverse.reshape(-1)


@dataclass(frozen=True, slots=True)
class TrackTable:
    """One row per ground-truth track, in track-id order; -1 / NaN where there is no value."""

    detection_id: NDArray[Any]
    vru_type: NDArray[np.str_]
    first_frame: NDArray[np.int64]
    last_frame: NDArray[np.int64]
    frames_seen: NDArray[np.int64]
    frames_counted: NDArray[np.int64]
    frames_matched: NDArray[np.int64]
    first_matched_frame: NDArray[np.int64]
    ttfd_ms: NDArray[np.float64]
    recall: NDArray[np.float64]
    never_detected: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.detection_id.size)

    def to_rows(self) -> list[dict[str, Any]]:
        """Plain dicts (missing values as None), ready for insertion."""

        def maybe(values: NDArray[Any], missing: NDArray[np.bool_]) -> list[Any]:
            return [
                None if m else v for v, m in zip(values.tolist(), missing.tolist(), strict=True)
            ]

        columns = {
            "detection_id": self.detection_id.tolist(),
            "vru_type": self.vru_type.tolist(),
            "first_frame": self.first_frame.tolist(),
            "last_frame": self.last_frame.tolist(),
            "frames_seen": self.frames_seen.tolist(),
            "frames_counted": self.frames_counted.tolist(),
            "frames_matched": self.frames_matched.tolist(),
            "first_matched_frame": maybe(self.first_matched_frame, self.first_matched_frame < 0),
            "ttfd_ms": maybe(self.ttfd_ms, np.isnan(self.ttfd_ms)),
            "recall": maybe(self.recall, np.isnan(self.recall)),
            "never_detected": self.never_detected.tolist(),
        }
        return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _first_matched_frame_temporal(
    gt: GroundTruth, track: NDArray[np.intp], tp_track: NDArray[np.intp], tp_time: NDArray[Any]
) -> NDArray[np.int64]:
    """Per TP: the frame of its track on screen at its time (the track's first if before it)."""
    if tp_track.size == 0:
        return np.empty(0, dtype=np.int64)
    # One increasing key over (track, time): tracks are spaced wider than any time span.
    low = min(float(gt.t_ms.min()), float(tp_time.min()))
    span = max(float(gt.t_ms.max()), float(tp_time.max())) - low + 1.0
    rows = np.lexsort((gt.t_ms, track))
    keys = track[rows] * span + (gt.t_ms[rows] - low)
    start = np.searchsorted(track[rows], tp_track, side="left")
    pos = np.searchsorted(keys, tp_track * span + (tp_time - low), side="right") - 1
    return gt.frame[rows[np.maximum(pos, start)]]


def track_table(gt: GroundTruth, a: Assignment, mode: MatchMode) -> TrackTable:
    """The per-track results of one assignment; see the module docstring."""
    ids, track = track_index(gt)
    n = ids.size
    onset = np.full(n, np.inf)
    np.minimum.at(onset, track, gt.t_ms)
    first_frame = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_frame, track, gt.frame)
    last_frame = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_frame, track, gt.frame)
    seen = np.bincount(track, minlength=n).astype(np.int64)
    vru = np.zeros(n, dtype=np.int8)
    vru[track] = gt.vru_type

    tp = np.flatnonzero(a.verdict == Verdict.TP)
    tp_row = a.gt_row[tp]
    tp_track = track[tp_row]
    record_time = a.signals.t_video_ms[a.order[tp]]
    tp_time = np.where(np.isnan(record_time), gt.t_ms[tp_row], record_time)
    first_time = np.full(n, np.inf)
    np.minimum.at(first_time, tp_track, tp_time)
    detected = np.isfinite(first_time)
    ttfd = np.where(detected, first_time - onset, np.nan)

    if mode is MatchMode.SPATIAL:
        counted = np.bincount(track, weights=~gt.difficult, minlength=n).astype(np.int64)
        unit_track = track[a.unit_row]
        hits = a.unit_matched & a.unit_counted
        matched = np.bincount(unit_track, weights=hits, minlength=n).astype(np.int64)
        tp_frame = gt.frame[tp_row]
    else:
        counted = np.ones(n, dtype=np.int64)
        matched = detected.astype(np.int64)
        tp_frame = _first_matched_frame_temporal(gt, track, tp_track, tp_time)
    first_matched = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_matched, tp_track, tp_frame)
    first_matched = np.where(detected, first_matched, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(counted > 0, matched / counted, np.nan)
    return TrackTable(
        detection_id=ids,
        vru_type=_TYPE_NAMES[vru],
        first_frame=first_frame,
        last_frame=last_frame,
        frames_seen=seen,
        frames_counted=counted,
        frames_matched=matched,
        first_matched_frame=first_matched.astype(np.int64),
        ttfd_ms=ttfd,
        recall=recall,
        never_detected=(counted > 0) & ~detected,
    )


@dataclass(frozen=True, slots=True)
class TrackSummary:
    """Time to first detection over the counted tracks of one VRU type (or all of them)."""

    tracks: int
    detected: int
    never_detected: int
    ttfd_p50_ms: float | None
    ttfd_p95_ms: float | None
    ttfd_max_ms: float | None
    within_budget: float | None
    """Share of counted tracks first detected within the latency budget; None without tracks."""

    def to_dict(self) -> dict[str, Any]:
        return camel_dict(self)


def _summary(table: TrackTable, rows: NDArray[np.bool_], budget_ms: float) -> TrackSummary:
    counted = rows & (table.frames_counted > 0)
    ttfd = table.ttfd_ms[counted]
    found = ttfd[~np.isnan(ttfd)]
    total = int(np.count_nonzero(counted))
    p50 = p95 = peak = None
    if found.size:
        p50, p95 = (float(v) for v in np.percentile(found, [50, 95]))
        peak = float(found.max())
    within = int(np.count_nonzero(found <= budget_ms))
    return TrackSummary(
        tracks=total,
        detected=int(found.size),
        never_detected=int(np.count_nonzero(table.never_detected[counted])),
        ttfd_p50_ms=p50,
        ttfd_p95_ms=p95,
        ttfd_max_ms=peak,
        within_budget=within / total if total else None,
    )


def summarise_tracks(table: TrackTable, budget_ms: float) -> dict[str, TrackSummary]:
    """Summaries per VRU type (every type, in protocol order) and over ``all`` tracks."""
    out = {str(v): _summary(table, table.vru_type == str(v), budget_ms) for v in VRU_TYPES}
    out["all"] = _summary(table, np.ones(len(table), dtype=np.bool_), budget_ms)
    return out
