"""The rig's one clock: CLOCK_MONOTONIC in integer nanoseconds.

Kernel stamps taken on CLOCK_REALTIME (SO_TIMESTAMPNS, SocketCAN) are moved onto the monotonic
clock with an offset. The offset is sampled as the narrowest of several paired reads
(monotonic, realtime, monotonic), so a preempted read cannot skew it, and resampled often, so an
NTP step bends at most the stamps taken before the next refresh.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

__all__ = ["ClockOffset", "RigClock"]

_SAMPLES = 7


@dataclass(frozen=True, slots=True)
class ClockOffset:
    offset_ns: int
    """CLOCK_REALTIME minus CLOCK_MONOTONIC."""
    uncertainty_ns: int
    """Width of the narrowest paired read the offset came from."""
    sampled_mono_ns: int


def sample_offset(samples: int = _SAMPLES) -> ClockOffset:
    """Take ``samples`` paired reads and keep the one with the narrowest bracket."""
    best: ClockOffset | None = None
    for _ in range(samples):
        before = time.monotonic_ns()
        wall = time.time_ns()
        after = time.monotonic_ns()
        width = after - before
        if best is None or width < best.uncertainty_ns:
            midpoint = before + width // 2
            best = ClockOffset(wall - midpoint, width, midpoint)
    assert best is not None
    return best


class RigClock:
    """Reads and converts time; safe to call from any thread.

    ``max_age_ns`` bounds how old the offset may be before a conversion resamples it inline.
    """

    def __init__(self, max_age_ns: int = 1_000_000_000) -> None:
        self._max_age_ns = max_age_ns
        self._lock = threading.Lock()
        self._offset = sample_offset()

    @staticmethod
    def now_ns() -> int:
        return time.monotonic_ns()

    @staticmethod
    def wall_ns() -> int:
        return time.time_ns()

    @property
    def offset(self) -> ClockOffset:
        offset = self._offset
        if time.monotonic_ns() - offset.sampled_mono_ns > self._max_age_ns:
            return self.refresh()
        return offset

    def refresh(self) -> ClockOffset:
        fresh = sample_offset()
        with self._lock:
            self._offset = fresh
        return fresh

    def realtime_to_mono(self, realtime_ns: int) -> int:
        return realtime_ns - self.offset.offset_ns

    def mono_to_wall(self, mono_ns: int) -> int:
        return mono_ns + self.offset.offset_ns
