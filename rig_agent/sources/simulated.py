"""A scripted source for demos, tests and benchmarks: no hardware, same path as a real channel.

Two ways to script it:

* ``steps``: a timeline of detections, each at ``at_ms`` from the start of a run, with what the
  system under test would say (``vru_type``, ``bbox``, ``confidence``, ``frame``, extra
  ``fields``). A step can be late (``latency_ms``), can be missed (``detect = false``) and, when
  ``stimulus_channel`` is set, also emits a stimulus marker at ``at_ms`` on that channel, so the
  rig pairs the two into a latency record. ``sync_channel`` emits a sync signal at the start of
  every run: video time zero when a session waits for it. The script runs ``repeat`` times
  (0: forever), one run every ``period_ms``.
* ``rate_hz``: a steady stream of signals (``count`` of them, or forever), each described by the
  optional ``template`` step; used by benchmarks.

Signals are stamped on the monotonic clock (:attr:`protocol.Clock.USER_MONOTONIC`) from the
source's own thread. A scripted event is stamped at its scheduled instant, not when the thread
happened to wake, so a script's ``latency_ms = 20`` reads as 20 ms on a loaded machine too; a
``rate_hz`` stream is stamped when emitted, so benchmarks see the real stamping cost.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol import Clock, Source, VruType
from rig_agent.sources.base import Capture, ChannelRole, ChannelSettings, SignalSource

__all__ = ["SimulatedSettings", "SimulatedSource", "SimulatedStep"]

logger = logging.getLogger(__name__)


class SimulatedStep(BaseModel):
    """One scripted detection (and optionally its stimulus)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at_ms: float = Field(default=0.0, ge=0, description="when the VRU appears, from run start")
    latency_ms: float = Field(default=0.0, ge=0, description="how late the detection follows")
    detect: bool = Field(default=True, description="false: the system under test misses it")
    vru_type: VruType | None = None
    bbox: tuple[float, float, float, float] | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    frame: int | None = Field(default=None, ge=0)
    fields: dict[str, Any] = Field(default_factory=dict)
    raw: str | None = Field(default=None, description="raw line; default: the decoded as JSON")

    def decoded(self) -> dict[str, Any]:
        values: dict[str, Any] = dict(self.fields)
        if self.vru_type is not None:
            values["vru_type"] = self.vru_type.value
        if self.bbox is not None:
            values["bbox"] = list(self.bbox)
        if self.confidence is not None:
            values["confidence"] = self.confidence
        if self.frame is not None:
            values["frame"] = self.frame
        return values


class SimulatedSettings(ChannelSettings):
    source: Literal[Source.SIMULATED] = Source.SIMULATED
    steps: list[SimulatedStep] = Field(default_factory=list)
    repeat: int = Field(default=1, ge=0, description="runs of the step script; 0 repeats forever")
    period_ms: float | None = Field(
        default=None,
        gt=0,
        description="one run every period_ms; default: right after the last step",
    )
    rate_hz: float | None = Field(default=None, gt=0, le=10_000_000)
    count: int | None = Field(
        default=None, ge=0, description="signals at rate_hz; default: forever"
    )
    template: SimulatedStep | None = None
    start_delay_ms: float = Field(default=0.0, ge=0)
    sync_channel: str | None = None
    stimulus_channel: str | None = None

    @model_validator(mode="after")
    def _check_mode(self) -> SimulatedSettings:
        if self.steps and self.rate_hz is not None:
            raise ValueError("give either steps or rate_hz, not both")
        if self.rate_hz is None and (self.count is not None or self.template is not None):
            raise ValueError("count and template go with rate_hz")
        if self.name in (self.sync_channel, self.stimulus_channel):
            raise ValueError("sync_channel and stimulus_channel name other channels")
        return self

    def linked_channels(self) -> dict[str, ChannelRole]:
        """Other configured channels this source emits on, with the role each must have."""
        linked: dict[str, ChannelRole] = {}
        if self.sync_channel is not None:
            linked[self.sync_channel] = ChannelRole.SYNC
        if self.stimulus_channel is not None:
            linked[self.stimulus_channel] = ChannelRole.STIMULUS
        return linked


@dataclass(frozen=True, slots=True)
class _Event:
    offset_ns: int
    channel: str
    raw: bytes
    decoded: dict[str, Any]


def _script_events(settings: SimulatedSettings) -> list[_Event]:
    """The events of one run of the step script, in time order."""
    events: list[_Event] = []
    if settings.sync_channel is not None:
        events.append(_Event(0, settings.sync_channel, b"sync", {}))
    for step in settings.steps:
        at_ns = int(step.at_ms * 1e6)
        decoded = step.decoded()
        raw = step.raw.encode() if step.raw is not None else orjson.dumps(decoded)
        if settings.stimulus_channel is not None:
            events.append(_Event(at_ns, settings.stimulus_channel, b"stimulus", {}))
        if step.detect:
            events.append(_Event(at_ns + int(step.latency_ms * 1e6), settings.name, raw, decoded))
    events.sort(key=lambda event: event.offset_ns)
    return events


class SimulatedSource(SignalSource):
    kind = Source.SIMULATED
    settings: SimulatedSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def finished(self) -> bool:
        """True once the script has played to its end (never for an endless script)."""
        return self._thread is not None and not self._thread.is_alive()

    def probe(self) -> str:
        mode = (
            f"{self.settings.rate_hz:g} Hz"
            if self.settings.rate_hz
            else f"{len(self.settings.steps)} scripted steps"
        )
        return f"simulated channel {self.name!r}: {mode}"

    def _open(self) -> None:
        self._halt.clear()
        self._thread = threading.Thread(target=self._run, name=f"source-{self.name}", daemon=True)
        self._thread.start()

    def _close(self) -> None:
        self._halt.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _emit(
        self, channel: str, raw: bytes, decoded: dict[str, Any], at_ns: int | None = None
    ) -> None:
        stamp = self._clock.now_ns() if at_ns is None else at_ns
        self._deliver(
            Capture(
                channel=channel,
                t_mono_ns=stamp,
                t_wall_ns=self._clock.mono_to_wall(stamp),
                clock=Clock.USER_MONOTONIC,
                raw=raw,
                raw_is_text=True,
                decoded=dict(decoded),
            )
        )

    def _wait_until(self, deadline_ns: int) -> bool:
        """Sleep until ``deadline_ns``; False when the source is being stopped."""
        delay_s = (deadline_ns - self._clock.now_ns()) / 1e9
        if delay_s <= 0:
            return not self._halt.is_set()
        return not self._halt.wait(delay_s)

    def _run(self) -> None:
        try:
            start_ns = self._clock.now_ns() + int(self.settings.start_delay_ms * 1e6)
            if not self._wait_until(start_ns):
                return
            if self.settings.rate_hz is not None:
                self._run_rate(start_ns, self.settings.rate_hz)
            else:
                self._run_script(start_ns)
        except Exception as exc:  # a dying reader must say so: python-can #1039
            self._record_error(f"simulated source failed: {exc!r}")
            logger.exception("simulated channel %s stopped on an error", self.name)

    def _run_script(self, start_ns: int) -> None:
        events = _script_events(self.settings)
        if not events:
            return
        period_ns = (
            int(self.settings.period_ms * 1e6)
            if self.settings.period_ms is not None
            else events[-1].offset_ns + 1
        )
        run = 0
        while self.settings.repeat == 0 or run < self.settings.repeat:
            run_start = start_ns + run * period_ns
            for event in events:
                due_ns = run_start + event.offset_ns
                if not self._wait_until(due_ns):
                    return
                self._emit(event.channel, event.raw, event.decoded, at_ns=due_ns)
            run += 1

    def _run_rate(self, start_ns: int, rate_hz: float) -> None:
        template = self.settings.template
        decoded = template.decoded() if template is not None else {}
        limit = self.settings.count
        emitted = 0
        interval_ns = 1e9 / rate_hz
        while limit is None or emitted < limit:
            due = int((self._clock.now_ns() - start_ns) / interval_ns) + 1
            if limit is not None:
                due = min(due, limit)
            while emitted < due:
                raw = template.raw.encode() if template and template.raw else str(emitted).encode()
                self._emit(self.name, raw, decoded)
                emitted += 1
            if limit is not None and emitted >= limit:
                return
            if not self._wait_until(start_ns + int(emitted * interval_ns)):
                return
