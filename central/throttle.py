"""One throttle for whatever goes to dashboards a few times a second.

Items are buffered per key and flushed with a leading-edge throttle: the first items after a quiet
spell leave at once, later ones wait until ``interval_s`` has passed since the previous flush of
that key and then leave together. A key is never flushed more than ``1 / interval_s`` times a
second, and a slow stream pays no added latency. What a flush does with its items (send them all,
keep the latest of each stage, compute a score) is the caller's.

Used for ``detection_event`` batches and import/export progress (:mod:`central.realtime.emitter`)
and for ``session_progress`` (:mod:`central.execution.live`). Call :meth:`Throttle.add` on the
event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

__all__ = ["Throttle"]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class Throttle(Generic[K, T]):
    """Per-key buffers handed to ``flush(key, items)`` at most once per ``interval_s``."""

    def __init__(self, flush: Callable[[K, list[T]], None], interval_s: float) -> None:
        self._flush = flush
        self._interval_s = interval_s
        self._buffers: dict[K, list[T]] = {}
        self._timers: dict[K, asyncio.TimerHandle] = {}
        self._last_flush: dict[K, float] = {}

    def add(self, key: K, items: Iterable[T]) -> None:
        buffer = self._buffers.setdefault(key, [])
        buffer.extend(items)
        if not buffer or key in self._timers:
            return
        loop = asyncio.get_running_loop()
        wait = self._last_flush.get(key, float("-inf")) + self._interval_s - loop.time()
        if wait <= 0:
            self._flush_key(key)
        else:
            self._timers[key] = loop.call_later(wait, self._flush_key, key)

    def discard(self, key: K) -> None:
        """Forget ``key``: what it buffered is dropped, its timer cancelled."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._buffers.pop(key, None)
        self._last_flush.pop(key, None)

    def flush_all(self) -> None:
        """Flush every buffer now (at shutdown)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for key in list(self._buffers):
            self._flush_key(key)

    def _flush_key(self, key: K) -> None:
        self._timers.pop(key, None)
        items = self._buffers.pop(key, None)
        if not items:
            return
        self._last_flush[key] = asyncio.get_running_loop().time()
        self._flush(key, items)
