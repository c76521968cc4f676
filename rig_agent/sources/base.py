"""One interface for every signal source, as python-can has ``BusABC``.

A source opens its device, stamps every signal on the rig's monotonic clock as close to the
hardware as it can, and hands a :class:`Capture` to its sink. The sink is thread-safe and never
blocks (it appends to the capture queue), so a source may call it from its own reader thread;
nothing downstream (encoding, spooling, publishing) runs on the capture path.

Backends override ``_open``, ``_close`` and, when they can check their device without opening it
for capture, ``probe``. The base owns the state, the counters and idempotent ``stop``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from protocol import Clock, Source
from rig_agent.clock import RigClock

__all__ = [
    "Capture",
    "CaptureSink",
    "ChannelRole",
    "ChannelSettings",
    "SignalSource",
    "SourceError",
    "SourceUnavailable",
]

logger = logging.getLogger(__name__)


class SourceError(Exception):
    """Base class of the errors a source raises."""


class SourceUnavailable(SourceError):
    """The device, port or socket cannot be opened (missing, busy, no permission, no driver)."""


class ChannelRole(StrEnum):
    SYNC = "sync"
    STIMULUS = "stimulus"
    DETECTION = "detection"


class ChannelSettings(BaseModel):
    """Settings common to every channel; each backend subclasses it with its own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    role: ChannelRole = ChannelRole.DETECTION
    source: Source


@dataclass(frozen=True, slots=True)
class Capture:
    """One signal, stamped. ``raw`` is what it was decoded from; ``decoded`` what it said.

    ``decoded`` may hold ``vru_type``, ``bbox`` ([x, y, w, h]), ``confidence`` and ``frame``;
    anything else a decoder found goes to the record's ``fields``.
    """

    channel: str
    t_mono_ns: int
    t_wall_ns: int
    clock: Clock
    raw: bytes
    raw_is_text: bool
    decoded: dict[str, Any] = field(default_factory=dict)


CaptureSink = Callable[[Capture], None]


class SignalSource(ABC):
    """Base of every backend; a context manager whose ``stop`` is idempotent."""

    kind: ClassVar[Source]

    def __init__(self, settings: ChannelSettings, sink: CaptureSink, clock: RigClock) -> None:
        self.settings = settings
        self._sink = sink
        self._clock = clock
        self._running = False
        self.count = 0
        """Signals delivered to the sink."""
        self.drops = 0
        """Signals the source knows it missed (edge sequence gaps, undecodable frames)."""
        self.last_error: str | None = None

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def running(self) -> bool:
        return self._running

    def probe(self) -> str:
        """Check that the device can be used; return a one-line description of it.

        :raises SourceUnavailable: with a message a rig operator can act on.
        """
        self.start()
        try:
            return f"{self.kind} channel {self.name!r} opened"
        finally:
            self.stop()

    def start(self) -> None:
        """Open the device and begin delivering captures to the sink.

        :raises SourceUnavailable: when the device cannot be opened.
        """
        if self._running:
            return
        self._open()
        self._running = True
        logger.info("channel %s (%s) started", self.name, self.kind)

    def stop(self) -> None:
        """Stop delivering and release the device; calling it again does nothing."""
        if not self._running:
            return
        self._running = False
        try:
            self._close()
        finally:
            logger.info("channel %s (%s) stopped", self.name, self.kind)

    def _deliver(self, capture: Capture) -> None:
        self.count += 1
        self._sink(capture)

    def _record_error(self, message: str) -> None:
        """Log a recurring device error once at ERROR, then at DEBUG until it changes."""
        if message != self.last_error:
            logger.error("channel %s: %s", self.name, message)
        else:
            logger.debug("channel %s: %s", self.name, message)
        self.last_error = message

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __del__(self) -> None:
        if getattr(self, "_running", False):
            logger.warning("channel %s was not stopped before it was released", self.name)
