"""Provisional (live) matching: a verdict for each record the moment it arrives.

Records are judged in *arrival* order with the same rules as the final pass, against the state
left by the records before them: in temporal mode the earliest-onset unmatched event whose window
holds the record (else repeat, else FP); in spatial mode the best unmatched box of the record's
frame and class (difficult boxes last, as in the final pass). Each verdict costs a binary search
and numpy work on the few events or boxes near the record, never a pass over the session.

Provisional verdicts can differ from the final ones when records arrive out of time order
(temporal) or a later, more confident detection of the same frame arrives (spatial); the final
pass (:func:`central.matching.match`) is the authority. A record id seen before gets
its earlier verdict again and is not counted twice.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from central.matching.assignment import Verdict
from central.matching.greedy import box_iou
from central.matching.inputs import VRU_TYPES, GroundTruth, MatchConfig, MatchMode, Signals
from central.matching.outputs import MatchType
from central.matching.provisional_tracks import ProvisionalTracks
from central.matching.spatial import frames_of
from central.matching.temporal import build_events

__all__ = ["ProvisionalMatcher", "ProvisionalVerdicts"]

logger = logging.getLogger(__name__)

_N_CLASSES = len(VRU_TYPES)
_NAMES = {v: MatchType[v.name] for v in Verdict}

_Judgement = tuple[Verdict, int, float, float]
"""(verdict, ground-truth row or -1, time difference ms or NaN, IoU or NaN)."""


@dataclass(frozen=True, slots=True)
class ProvisionalVerdicts:
    """Verdicts of one batch, in the order the records were given."""

    record_id: NDArray[Any]
    match_type: NDArray[np.str_]
    annotation_id: NDArray[np.object_]
    latency_ms: NDArray[np.float64]
    """Set for TPs with a video time, NaN otherwise."""
    iou: NDArray[np.float64]

    def to_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "record_id": r,
                "match_type": m,
                "annotation_id": a,
                "latency_ms": None if math.isnan(lat) else lat,
                "iou": None if math.isnan(iou) else iou,
            }
            for r, m, a, lat, iou in zip(
                self.record_id.tolist(),
                self.match_type.tolist(),
                self.annotation_id.tolist(),
                self.latency_ms.tolist(),
                self.iou.tolist(),
                strict=True,
            )
        ]


class _TemporalState:
    def __init__(self, gt: GroundTruth, tolerance_ms: float) -> None:
        self.events = build_events(gt, tolerance_ms)
        self.matched = np.zeros(len(self.events), dtype=np.bool_)
        lo, hi = self.events.window_start_ms, self.events.window_end_ms
        self.reach = np.maximum.accumulate(hi) if hi.size else hi
        # Start of each run of overlapping windows: no window before it reaches into it.
        new_run = np.r_[True, lo[1:] > self.reach[:-1]] if lo.size else np.empty(0, np.bool_)
        self.run_start = np.maximum.accumulate(np.where(new_run, np.arange(lo.size), 0))

    def judge(self, t: float) -> _Judgement:
        ev = self.events
        k = int(np.searchsorted(ev.window_start_ms, t, side="right"))
        if np.isnan(t) or k == 0 or t > self.reach[k - 1]:
            return Verdict.FP, -1, np.nan, np.nan
        first = int(self.run_start[k - 1])
        holds = ev.window_end_ms[first:k] >= t
        free = holds & ~self.matched[first:k]
        if free.any():
            event = first + int(np.argmax(free))
            self.matched[event] = True
            verdict = Verdict.TP
        else:
            event = first + int(np.argmax(holds))
            verdict = Verdict.REPEAT
        return verdict, int(ev.first_row[event]), t - float(ev.onset_ms[event]), np.nan

    def missed(self, now_ms: float) -> int:
        closed = self.events.window_end_ms < now_ms
        return int(np.count_nonzero(closed & ~self.matched))


class _SpatialState:
    def __init__(self, gt: GroundTruth, config: MatchConfig) -> None:
        self.gt = gt
        self.threshold = min(config.iou_threshold, 1 - 1e-10)
        rank = np.argsort(np.argsort(gt.annotation_id))  # ids are unique: any sort is exact
        group = gt.frame * _N_CLASSES + gt.vru_type
        self.order = np.lexsort((rank, gt.difficult, group))
        self.group = group[self.order]
        self.consumed = np.zeros(len(gt), dtype=np.bool_)

    def judge(self, t: float, frame: int, vru: int, box: NDArray[np.float64]) -> _Judgement:
        if frame < 0 or vru < 0 or np.isnan(box).any():
            return Verdict.FP, -1, np.nan, np.nan
        key = frame * _N_CLASSES + vru
        a, b = np.searchsorted(self.group, [key, key + 1], side="left").tolist()
        rows = self.order[a:b]
        ignore = self.gt.difficult[rows]
        iou = box_iou(box, self.gt.bbox[rows], ignore)
        candidate = (iou >= self.threshold) & (ignore | ~self.consumed[rows])
        for pool in (candidate & ~ignore, candidate & ignore):
            if pool.any():
                scores = np.where(pool, iou, -1.0)
                pick = scores.size - 1 - int(np.argmax(scores[::-1]))
                row = int(rows[pick])
                self.consumed[row] = True
                verdict = Verdict.IGNORED if ignore[pick] else Verdict.TP
                return verdict, row, t - float(self.gt.t_ms[row]), float(iou[pick])
        return Verdict.FP, -1, np.nan, np.nan

    def missed(self, now_ms: float) -> int:
        gone = (self.gt.t_ms < now_ms) & ~self.gt.difficult
        return int(np.count_nonzero(gone & ~self.consumed))


class ProvisionalMatcher:
    """Live verdicts for one session; feed it records with :meth:`add` as they arrive.

    :raises ValueError: (from the constructor) spatial mode with an annotation lacking a box.
    """

    def __init__(self, gt: GroundTruth, config: MatchConfig) -> None:
        self._gt = gt
        self._config = config
        self._temporal = config.mode is MatchMode.TEMPORAL
        if not self._temporal and np.isnan(gt.bbox).any():
            raise ValueError("spatial matching needs a box on every annotation")
        self._state: _TemporalState | _SpatialState = (
            _TemporalState(gt, config.tolerance_ms) if self._temporal else _SpatialState(gt, config)
        )
        self._seen: dict[Any, _Judgement] = {}
        self._counts = dict.fromkeys(Verdict, 0)
        self._tracks = ProvisionalTracks(gt, config.mode)
        self._latest_ms = -np.inf

    def knows(self, record_id: Any) -> bool:
        """Whether the record was judged already."""
        return record_id in self._seen

    def add(self, signals: Signals) -> ProvisionalVerdicts:
        """Judge a batch of records in the order given and update the running counts.

        :raises ValueError: spatial mode, a record needs its frame from its time and no fps is set.
        """
        frames = signals.frame if self._temporal else frames_of(signals, self._config.fps)
        judged: list[_Judgement] = []
        for i, rid in enumerate(signals.record_id.tolist()):
            earlier = self._seen.get(rid)
            if earlier is not None:
                logger.debug("record %r judged again; keeping its first verdict", rid)
                judged.append(earlier)
                continue
            t = float(signals.t_video_ms[i])
            if isinstance(self._state, _TemporalState):
                result = self._state.judge(t)
            else:
                result = self._state.judge(
                    t, int(frames[i]), int(signals.vru_type[i]), signals.bbox[i]
                )
            self._seen[rid] = result
            self._counts[result[0]] += 1
            if result[0] is Verdict.TP:
                self._tracks.true_positive(result[1], t)
            if not math.isnan(t):
                self._latest_ms = max(self._latest_ms, t)
            judged.append(result)
        return self._verdicts(signals.record_id, judged)

    def _verdicts(self, record_id: NDArray[Any], judged: list[_Judgement]) -> ProvisionalVerdicts:
        n = len(judged)
        codes = [j[0] for j in judged]
        rows = np.fromiter((j[1] for j in judged), dtype=np.int64, count=n)
        diff = np.fromiter((j[2] for j in judged), dtype=np.float64, count=n)
        annotation_id = np.full(n, None, dtype=object)
        hit = rows >= 0
        annotation_id[hit] = self._gt.annotation_id[rows[hit]]
        is_tp = np.array([c == Verdict.TP for c in codes], dtype=np.bool_)
        return ProvisionalVerdicts(
            record_id=record_id,
            match_type=np.array([str(_NAMES[c]) for c in codes], dtype="<U7"),
            annotation_id=annotation_id,
            latency_ms=np.where(is_tp, diff, np.nan),
            iou=np.fromiter((j[3] for j in judged), dtype=np.float64, count=n),
        )

    def snapshot(self) -> dict[str, Any]:
        """Running provisional score (camelCase). FN counts only ground truth that can no longer
        be matched: events whose window closed, or boxes shown before the latest record's time.
        ``tracks``: the per-track figures so far (:mod:`central.matching.provisional_tracks`)."""
        tp = self._counts[Verdict.TP]
        fp = self._counts[Verdict.FP]
        fn = self._state.missed(self._latest_ms)
        denominator = tp + fp + fn
        return {
            "truePositives": tp,
            "falsePositives": fp,
            "falseNegatives": fn,
            "repeats": self._counts[Verdict.REPEAT],
            "ignored": self._counts[Verdict.IGNORED],
            "accuracy": tp / denominator if denominator else None,
            "tracks": self._tracks.snapshot(self._latest_ms),
        }
