"""Temporal matching: signals without a box against ground-truth events (DESIGN.md, Matching).

An *event* is one ``detection_id`` track; onset is the time of its first annotated frame, offset
of its last. A signal at ``t`` is inside the event's window when
``onset - tolerance_ms <= t <= offset + tolerance_ms`` (both edges inclusive). Signals are taken
in time order; each goes to the earliest-onset unmatched event whose window holds it (TP,
``latency = t - onset``). A signal that finds no unmatched event but lies in an already matched
event's window is a repeat; one in no window at all is a FP, as is a record without video time
(it came before sync). Events left unmatched are FN.

A signal's VRU type, if it carries one, takes no part in matching (the rule is about time only);
it only attributes FPs in the per-type breakdown. Flags only feed the breakdowns here (an event is flagged when any of its annotations is):
DESIGN.md ignores ``difficult`` ground truth in spatial mode only, so a difficult event still
counts as TP or FN in temporal mode.

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
* Because run starts are sorted, the event-order greedy is a recurrence: with ``last`` the
  signal taken by the latest event that took one, event ``j`` takes
  ``max(start_j, last + 1)`` if that is below ``end_j``, else nothing. (Every signal from
  ``start_j`` to ``last`` is taken: the latest successful event ``s`` started no later than
  ``start_j``, and everything from its start to its pick was taken.) While no event fails, this
  is a running maximum, ``pick_j = j + max over i <= j of (start_i - i)``, computed per cluster
  of overlapping runs in one vectorised pass.
* An event that fails (its run has no untaken signal left: a miss hidden by a neighbour) shifts
  the picks after it, so only clusters that contain a failure are recomputed by a plain scan of
  that recurrence over Python ints: per *event* in those clusters, never per record. The scan
  is inherently sequential (each pick depends on the one before it after a failure).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from central.matching.assignment import (
    Assignment,
    Verdict,
    argsort_ties_by_position,
    canonical_order,
)
from central.matching.inputs import GroundTruth, Signals

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
    ann_rank = np.argsort(np.argsort(gt.annotation_id))  # ids are unique: any sort is exact
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
    order = argsort_ties_by_position(onset)
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


def _scan(start: list[int], end: list[int]) -> list[int]:
    """The event-order greedy, one event at a time: -1 where an event finds no signal."""
    picks = []
    last = -1
    for lo, hi in zip(start, end, strict=True):
        pick = max(lo, last + 1)
        if pick < hi:
            picks.append(pick)
            last = pick
        else:
            picks.append(-1)
    return picks


def _event_signals(start: NDArray[np.int64], end: NDArray[np.int64]) -> NDArray[np.int64]:
    """For events in onset order with signal runs ``[start, end)`` (``start`` non-decreasing),
    the signal each event takes under the event-order greedy, -1 for none. See the module
    docstring for why ``pick_j = max(start_j, last successful pick + 1)`` is exact."""
    picked = np.full(start.size, -1, dtype=np.int64)
    runs = np.flatnonzero(start < end)
    if runs.size == 0:
        return picked
    lo, hi = start[runs], end[runs]
    # Clusters of overlapping runs: a run starting at or past every earlier run's end cannot
    # meet an earlier pick, so the recurrence restarts there.
    reach_before = np.r_[np.int64(-1), np.maximum.accumulate(hi)[:-1]]
    cluster = np.cumsum(lo >= reach_before)
    k = np.arange(runs.size)
    # pick_j - j = max(start_j - j, pick_(j-1) - (j-1)): a running maximum per cluster (the
    # cluster offset makes each cluster's keys exceed all earlier ones), if no event fails.
    offset = cluster * (int(lo.max()) + runs.size + 1)
    pick = k + np.maximum.accumulate(lo - k + offset) - offset
    failed = pick >= hi
    if failed.any():
        # A failed event takes nothing, which shifts every pick after it in its cluster.
        redo = np.flatnonzero(np.isin(cluster, cluster[failed]))
        pick[redo] = _scan(lo[redo].tolist(), hi[redo].tolist())
    picked[runs] = pick
    return picked


def match_temporal(gt: GroundTruth, signals: Signals, tolerance_ms: float) -> Assignment:
    """Apply the temporal rules; see the module docstring."""
    events = build_events(gt, tolerance_ms)
    order = canonical_order(signals)
    t = signals.t_video_ms[order]
    n = t.size
    timed = np.flatnonzero(~np.isnan(t))
    by_time = timed[argsort_ties_by_position(t[timed])]
    t_sorted = t[by_time]

    start = np.searchsorted(t_sorted, events.window_start_ms, side="left").astype(np.int64)
    end = np.searchsorted(t_sorted, events.window_end_ms, side="right").astype(np.int64)

    event_signal = _event_signals(start, end)

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
    if len(events):
        last = len(events) - 1
        in_window = (covering <= last) & (start[np.minimum(covering, last)] <= positions)
    else:
        in_window = np.zeros(t_sorted.size, dtype=np.bool_)
    repeat_sorted = in_window & ~is_tp_sorted
    sorted_event[repeat_sorted] = covering[repeat_sorted]

    verdict = np.full(n, Verdict.FP, dtype=np.int8)
    verdict[by_time] = np.where(
        is_tp_sorted, Verdict.TP, np.where(repeat_sorted, Verdict.REPEAT, Verdict.FP)
    )
    record_event = np.full(n, -1, dtype=np.int64)
    record_event[by_time] = sorted_event
    # Gathers with a clipped index plus np.where beat boolean compress/scatter when most
    # records hit an event, as they do.
    hit = record_event >= 0
    if len(events):
        safe_event = np.maximum(record_event, 0)
        gt_row = np.where(hit, events.first_row[safe_event], -1)
        difference = np.where(hit, t - events.onset_ms[safe_event], np.nan)
    else:
        gt_row = np.full(n, -1, dtype=np.int64)
        difference = np.full(n, np.nan)

    return Assignment(
        signals=signals,
        order=order,
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
