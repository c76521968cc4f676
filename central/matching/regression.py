"""Is session B worse than session A on the same video? (issue #12)

The paired unit is a ground-truth track (one ``detectionId``): found (any TP) or missed in each
session. Tracks that flipped are listed both ways; **McNemar's exact test** (the two-sided
binomial test of the discordant pairs at p = 1/2; McNemar, Psychometrika 1947) says whether the
flips lean one way more than chance would. The **latency difference** is the mean of B's minus
A's time to first detection over tracks found in both, with a percentile bootstrap 95 %
interval (2,000 resamples of the tracks, fixed seed, so the interval is reproducible).

Verdict: ``regressed`` when B misses significantly more (p < 0.05, more found-in-A-missed-in-B)
or is significantly slower (the interval lies above 0); ``improved`` for the mirror image with
no regression; otherwise ``no significant change``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import binomtest

__all__ = ["ALPHA", "BOOTSTRAP_RESAMPLES", "Regression", "RegressionVerdict", "compare_tracks"]

ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 2000
_SEED = 20_261_203


class RegressionVerdict(StrEnum):
    REGRESSED = "regressed"
    IMPROVED = "improved"
    NO_SIGNIFICANT_CHANGE = "no significant change"


@dataclass(frozen=True, slots=True)
class Regression:
    tracks: int
    """Tracks counted in both sessions."""
    found_in_a_missed_in_b: list[str]
    missed_in_a_found_in_b: list[str]
    mcnemar_p: float | None
    """None without a flip (nothing to test)."""
    latency_difference_ms: float | None
    latency_interval_ms: tuple[float, float] | None
    verdict: RegressionVerdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "tracks": self.tracks,
            "foundInAMissedInB": self.found_in_a_missed_in_b,
            "missedInAFoundInB": self.missed_in_a_found_in_b,
            "mcnemarP": self.mcnemar_p,
            "latencyDifferenceMs": self.latency_difference_ms,
            "latencyInterval95Ms": (
                None if self.latency_interval_ms is None else list(self.latency_interval_ms)
            ),
            "verdict": str(self.verdict),
        }


def _bootstrap_mean(diff: NDArray[np.float64]) -> tuple[float, float]:
    rng = np.random.default_rng(_SEED)
    picks = rng.integers(0, diff.size, size=(BOOTSTRAP_RESAMPLES, diff.size))
    means = diff[picks].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def compare_tracks(
    track_id: NDArray[Any],
    found_a: NDArray[np.bool_],
    found_b: NDArray[np.bool_],
    ttfd_a_ms: NDArray[np.float64],
    ttfd_b_ms: NDArray[np.float64],
) -> Regression:
    """Compare two sessions track by track (arrays aligned on ``track_id``, counted tracks only;
    TTFD NaN where not found)."""
    lost = np.flatnonzero(found_a & ~found_b)
    gained = np.flatnonzero(~found_a & found_b)
    flips = lost.size + gained.size
    p = float(binomtest(int(lost.size), flips, 0.5).pvalue) if flips else None
    both = found_a & found_b
    diff = (ttfd_b_ms - ttfd_a_ms)[both]
    mean = float(diff.mean()) if diff.size else None
    interval = _bootstrap_mean(diff) if diff.size else None
    significant = p is not None and p < ALPHA
    worse = (significant and lost.size > gained.size) or (interval is not None and interval[0] > 0)
    better = (significant and gained.size > lost.size) or (interval is not None and interval[1] < 0)
    verdict = (
        RegressionVerdict.REGRESSED
        if worse
        else RegressionVerdict.IMPROVED
        if better
        else RegressionVerdict.NO_SIGNIFICANT_CHANGE
    )
    return Regression(
        tracks=int(track_id.size),
        found_in_a_missed_in_b=[str(t) for t in track_id[lost].tolist()],
        missed_in_a_found_in_b=[str(t) for t in track_id[gained].tolist()],
        mcnemar_p=p,
        latency_difference_ms=mean,
        latency_interval_ms=interval,
        verdict=verdict,
    )
