"""Provisional per-track figures of a running session: tracks seen and detected so far, TTFD p50.

The live counterpart of :mod:`central.matching.tracks`, fed by the provisional verdicts, with
the same definitions: a track is one ``detection_id``; its time to first detection is its
earliest TP's video time (the matched box's time when the record has none) minus the time of the
track's first frame; spatial mode counts only tracks with a box that is not ``difficult``.
*Seen* are the counted tracks whose first frame is shown at or before the latest record's video
time (or that are detected already: a temporal signal may come within the tolerance before the
onset). The final figures may differ where the provisional verdicts do (see
:mod:`central.matching.provisional`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from central.matching.inputs import GroundTruth, MatchMode
from central.matching.tracks import track_index

__all__ = ["ProvisionalTracks"]


class ProvisionalTracks:
    def __init__(self, gt: GroundTruth, mode: MatchMode) -> None:
        _, self._track = track_index(gt)
        n = int(self._track.max()) + 1 if self._track.size else 0
        self._onset = np.full(n, np.inf)
        np.minimum.at(self._onset, self._track, gt.t_ms)
        if mode is MatchMode.SPATIAL:
            counted = np.zeros(n, dtype=np.bool_)
            counted[self._track[~gt.difficult]] = True
        else:
            counted = np.ones(n, dtype=np.bool_)
        self._counted = counted
        self._first_tp_ms = np.full(n, np.inf)
        self._t_ms = gt.t_ms

    def true_positive(self, gt_row: int, t_video_ms: float) -> None:
        """A TP on annotation row ``gt_row`` by a record at ``t_video_ms`` (NaN: none)."""
        track = self._track[gt_row]
        time = self._t_ms[gt_row] if math.isnan(t_video_ms) else t_video_ms
        self._first_tp_ms[track] = min(self._first_tp_ms[track], time)

    def snapshot(self, latest_ms: float) -> dict[str, Any]:
        """``{"seen", "detected", "ttfdP50Ms"}`` (camelCase) as of the latest record's time."""
        detected = self._counted & np.isfinite(self._first_tp_ms)
        seen = self._counted & ((self._onset <= latest_ms) | detected)
        ttfd = self._first_tp_ms[detected] - self._onset[detected]
        return {
            "seen": int(np.count_nonzero(seen)),
            "detected": int(np.count_nonzero(detected)),
            "ttfdP50Ms": float(np.percentile(ttfd, 50)) if ttfd.size else None,
        }
