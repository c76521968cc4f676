"""A thread-safe capture sink the tests can wait on, and the rig clock."""

from __future__ import annotations

import threading

import pytest

from rig_agent.clock import RigClock
from rig_agent.sources.base import Capture


class CaptureSink:
    """Collects captures from any thread; ``wait_for(n)`` returns once ``n`` have arrived."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.captures: list[Capture] = []
        self.received_ns: list[int] = []
        """The monotonic time each capture reached the sink: no stamp may be later."""

    def __call__(self, capture: Capture) -> None:
        with self._condition:
            self.captures.append(capture)
            self.received_ns.append(RigClock.now_ns())
            self._condition.notify_all()

    def wait_for(self, count: int, timeout_s: float = 2.0) -> list[Capture]:
        with self._condition:
            if not self._condition.wait_for(lambda: len(self.captures) >= count, timeout_s):
                raise AssertionError(
                    f"{len(self.captures)} captures arrived, expected {count}: {self.captures}"
                )
            return list(self.captures)


class StallingSink(CaptureSink):
    """A consumer slower than the signals: the first capture holds the reader until
    :meth:`release`, so what arrives meanwhile piles up in the kernel's queue."""

    def __init__(self) -> None:
        super().__init__()
        self.stalled = threading.Event()
        self._released = threading.Event()

    def __call__(self, capture: Capture) -> None:
        if not self.stalled.is_set():
            self.stalled.set()
            self._released.wait(10)
        super().__call__(capture)

    def release(self) -> None:
        self._released.set()


@pytest.fixture
def stalling_sink() -> StallingSink:
    return StallingSink()


@pytest.fixture
def sink() -> CaptureSink:
    return CaptureSink()


@pytest.fixture(scope="session")
def clock() -> RigClock:
    return RigClock()
