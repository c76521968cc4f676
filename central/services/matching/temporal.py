"""Temporal matching: signals without a box against ground-truth events (DESIGN.md, Matching).

An *event* is one ``detection_id`` track; onset is the time of its first annotated frame, offset
of its last. A signal at ``t`` is inside the event's window when
``onset - tolerance_ms <= t <= offset + tolerance_ms`` (both edges inclusive). Signals are taken
in time order; each goes to the earliest-onset unmatched event whose window holds it (TP,
``latency = t - onset``). A signal that finds no unmatched event but lies in an already matched
event's window is a repeat; one in no window at all is a FP, as is a record without video time
(it came before sync). Events left unmatched are FN.

Ties, so the result never depends on arrival order: records are ordered by
``(t_video_ms, record_id)``, events by ``(onset, detection_id)``.

How the greedy rule is computed (exactly, not approximated):

* Sorting events by onset sorts their window starts, so the signals inside event ``e``'s window
  are one contiguous run ``[start_e, end_e)`` of the time-sorted signals (two searchsorted calls).
* The signal-by-signal greedy equals an event-by-event greedy: taking events in onset order, each
  event takes the earliest signal of its run that no earlier event took. (Induction over signals:
  when signal ``s`` comes, every lower event holding ``s`` already took an earlier signal, and
  every signal of the event's run before ``s`` went to a lower event.)
* An unmatched signal inside some window is therefore always a repeat: every event holding it
  took an earlier signal. So repeats and FPs need only "is the signal in any window", which is
  vectorised with a running maximum of the run ends.
* Events whose runs overlap no other run simply take their run's first signal (vectorised).
  Only events whose runs overlap need the sequential "next free signal" scan; it runs over plain
  Python ints with a union-find that skips taken signals, once per contended *event*, never per
  record. The scan is inherently sequential (each event's pick depends on the picks before it),
  and numpy has no primitive for it; it is a few microseconds per contended event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from central.services.matching.assignment import Assignment, Verdict, canonical_order
from central.services.matching.inputs import GroundTruth, Signals

__all__ = ["Events", "build_events", "match_temporal"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Events:
    """Ground-truth events in matching order (onset, then detection id)."""

    first_row: NDArray[np.int64]
    """Row of the event's first annotation (lowest frame, then lowest annotation id)."""
    onset_ms: NDArray[np.float64]
    offset_ms: NDArray[np.float64]
    window_start_ms: NDArray[np.float64]
    window_end_ms: NDArray[np.float64]
    vru_type: NDArray[np.int8]
    occluded: NDArray[np.bool_]
    """True when any annotation of the track is flagged; likewise truncated and difficult."""
    truncated: NDArray[np.bool_]
    difficult: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.first_row.size)


def build_events(gt: GroundTruth, tolerance_ms: float) -> Events:
    """Group annotations into events and sort them into matching order.

    :raises ValueError: a track's last frame is shown before its first.
    """
    if len(gt) == 0:
        no_f = np.empty(0, dtype=np.float64)
        no_b = np.empty(0, dtype=np.bool_)
        return Events(
            np.empty(0, dtype=np.int64),
            no_f,
            no_f,
            no_f,
            no_f,
            np.empty(0, dtype=np.int8),
            no_b,
            no_b,
            no_b,
        )
    _, track = np.unique(gt.detection_id, return_inverse=True)
    ann_rank = np.argsort(np.argsort(gt.annotation_id, kind="stable"), kind="stable")
    rows = np.lexsort((ann_rank, gt.frame, track))
    track_sorted = track[rows]
    bounds = np.flatnonzero(np.r_[True, track_sorted[1:] != track_sorted[:-1]])
    first = rows[bounds]
    last = rows[np.r_[bounds[1:], rows.size] - 1]
    onset = gt.t_ms[first]
    offset = gt.t_ms[last]
    backwards = np.flatnonzero(offset < onset)
    if backwards.size:
        bad = gt.detection_id[first[backwards[0]]].item()
        raise ValueError(f"track {bad!r}: its last frame's time is before its first frame's")
    # Events are numbered by detection id (np.unique sorts), so a stable sort on onset breaks
    # equal onsets by detection id.
    order = np.argsort(onset, kind="stable")
    first, onset, offset = first[order], onset[order], offset[order]

    def any_flag(flag: NDArray[np.bool_]) -> NDArray[np.bool_]:
        return np.logical_or.reduceat(flag[rows], bounds)[order]

    return Events(
        first_row=first.astype(np.int64),
        onset_ms=onset,
        offset_ms=offset,
        window_start_ms=onset - tolerance_ms,
        window_end_ms=offset + tolerance_ms,
        vru_type=gt.vru_type[first],
        occluded=any_flag(gt.occluded),
        truncated=any_flag(gt.truncated),
        difficult=any_flag(gt.difficult),
    )


def _take_first_free(
    start: NDArray[np.int64], end: NDArray[np.int64], contended: NDArray[np.intp]
) -> NDArray[np.int64]:
    """Event-order greedy for events whose signal runs overlap: each takes the first signal of
    its run ``[start, end)`` not taken by an earlier event (-1 if none is left)."""
    picked = np.full(contended.size, -1, dtype=np.int64)
    next_free: dict[int, int] = {}  # union-find: taken signal -> a later candidate
    for k, (lo, hi) in enumerate(zip(start[contended].tolist(), end[contended].tolist())):
        root = lo
        while root in next_free:
            root = next_free[root]
        node = lo
        while node != root:  # path compression keeps later walks short
            following = next_free[node]
            next_free[node] = root
            node = following
        if root < hi:
            picked[k] = root
            next_free[root] = root + 1
    return picked


def match_temporal(gt: GroundTruth, signals: Signals, tolerance_ms: float) -> Assignment:
    """Apply the temporal rules; see the module docstring."""
    events = build_events(gt, tolerance_ms)
    canon = signals.take(canonical_order(signals))
    n = len(canon)
    timed = np.flatnonzero(~np.isnan(canon.t_video_ms))
    by_time = timed[np.argsort(canon.t_video_ms[timed], kind="stable")]
    t_sorted = canon.t_video_ms[by_time]

    start = np.searchsorted(t_sorted, events.window_start_ms, side="left").astype(np.int64)
    end = np.searchsorted(t_sorted, events.window_end_ms, side="right").astype(np.int64)

    # Events whose runs overlap an earlier run (or a later one) compete for signals.
    has_run = np.flatnonzero(start < end)
    run_start, run_end = start[has_run], end[has_run]
    reach_before = (
        np.maximum.accumulate(np.r_[np.int64(-1), run_end[:-1]]) if has_run.size else run_end
    )
    overlaps_prev = run_start < reach_before
    overlaps_next = np.r_[overlaps_prev[1:], False] if has_run.size else overlaps_prev
    contended = overlaps_prev | overlaps_next

    event_signal = np.full(len(events), -1, dtype=np.int64)
    free = has_run[~contended]
    event_signal[free] = start[free]
    if contended.any():
        event_signal[has_run[contended]] = _take_first_free(start, end, has_run[contended])

    # Per time-sorted signal: TP (its event), else the lowest event whose window holds it.
    sorted_event = np.full(t_sorted.size, -1, dtype=np.int64)
    matched_events = np.flatnonzero(event_signal >= 0)
    sorted_event[event_signal[matched_events]] = matched_events
    is_tp_sorted = sorted_event >= 0
    # The first event whose run reaches past signal i is the lowest event holding i, if any
    # event does (run starts are sorted, so no later event can start before it).
    reach = np.maximum.accumulate(end) if end.size else end
    positions = np.arange(t_sorted.size)
    covering = np.searchsorted(reach, positions, side="right")
    in_window = covering < len(events)
    in_window[in_window] = start[covering[in_window]] <= positions[in_window]
    repeat_sorted = in_window & ~is_tp_sorted
    sorted_event[repeat_sorted] = covering[repeat_sorted]

    verdict = np.full(n, Verdict.FP, dtype=np.int8)
    verdict[by_time[is_tp_sorted]] = Verdict.TP
    verdict[by_time[repeat_sorted]] = Verdict.REPEAT
    record_event = np.full(n, -1, dtype=np.int64)
    record_event[by_time] = sorted_event
    hit = record_event >= 0
    gt_row = np.full(n, -1, dtype=np.int64)
    gt_row[hit] = events.first_row[record_event[hit]]
    difference = np.full(n, np.nan)
    difference[hit] = canon.t_video_ms[hit] - events.onset_ms[record_event[hit]]

    return Assignment(
        signals=canon,
        verdict=verdict,
        gt_row=gt_row,
        difference_ms=difference,
        iou=np.full(n, np.nan),
        unit_row=events.first_row,
        unit_matched=event_signal >= 0,
        unit_counted=np.ones(len(events), dtype=np.bool_),
        unit_occluded=events.occluded,
        unit_truncated=events.truncated,
        unit_difficult=events.difficult,
        unit_vru_type=events.vru_type,
    )
