"""GPIO edges: gpiozero pins, or libgpiod v2 lines with kernel stamps and dropped-edge counts.

Backends:

- ``gpiozero`` (default): a pin of the named pin factory (``lgpio``, ``rpigpio``, ``native``,
  ``mock``; none = gpiozero's own choice) calls back on each edge. With the ``lgpio`` factory the
  callback's ticks are the kernel's edge timestamps (nanoseconds on CLOCK_MONOTONIC since Linux
  5.7, CLOCK_REALTIME before; told apart by value): ``kernel_monotonic`` (or ``kernel_realtime``).
  Other factories give no kernel stamp, so the edge is stamped when the callback runs:
  ``user_monotonic``. gpiozero keeps a pin's callback only as a weak reference; the source keeps
  the strong one, or the callback would vanish and edges with it.
- ``gpiod``: the line is requested from the character device with edge detection and event clock
  MONOTONIC; a reader thread reads the edge events and uses ``timestamp_ns`` (integer ns,
  ``kernel_monotonic``). The kernel numbers each line's events (``line_seqno``, from 1) and all
  events of the request (``global_seqno``); when the reader falls behind and the kernel's event
  buffer overflows, the kernel discards the oldest events, which shows up as gaps: they are
  counted in ``drops`` and logged. A chip that goes away (unplugged, driver unbound) is an error
  the reader reports and retries, requesting the line again once the chip is back.
  The ``gpiod`` package (``gpiod>=2.2.1``) is optional and imported only when such a channel
  opens.

``debounce_ms`` goes to the pin's ``bounce`` (lgpio debounces in the kernel; gpiozero's
MockFactory ignores it) or to the line's kernel ``debounce_period`` (gpiod).

Each edge is a capture whose raw text is ``rising`` or ``falling`` and whose decoded values hold
``edge`` (and ``line_seqno``, ``global_seqno`` with gpiod).
"""

from __future__ import annotations

import errno
import glob
import logging
import os
from datetime import timedelta
from importlib.metadata import entry_points
from typing import Any, Literal

from pydantic import Field, model_validator

from protocol import Source
from rig_agent.clock import RigClock
from rig_agent.sources._reader import SupervisedReader, bound_switch_interval
from rig_agent.sources._stamps import (
    Stamp,
    kernel_monotonic_stamp,
    kernel_realtime_stamp,
    user_stamp,
)
from rig_agent.sources.base import CaptureSink, ChannelSettings, SignalSource, SourceUnavailable

__all__ = ["GpioSettings", "GpioSource", "SequenceGaps", "lgpio_tick_stamp"]

logger = logging.getLogger(__name__)

_WAIT_TIMEOUT_S = 0.1
_KERNEL_TICK_FACTORIES = frozenset({"gpiozero.pins.lgpio"})
_GPIOD_MISSING = (
    "gpio backend 'gpiod' needs the libgpiod v2 Python bindings (gpiod>=2.2.1), which are not "
    "installed: pip install 'gpiod>=2.2.1' (or the 'gpio' extra of this package)"
)


class GpioSettings(ChannelSettings):
    source: Literal[Source.GPIO] = Source.GPIO
    backend: Literal["gpiozero", "gpiod"] = "gpiozero"
    pin: int | str | None = Field(default=None, description="gpiozero: pin number or name")
    pin_factory: str | None = Field(
        default=None, description="gpiozero: lgpio, rpigpio, native, mock (none: gpiozero picks)"
    )
    chip: str = Field(
        default="/dev/gpiochip0",
        min_length=1,
        description="gpiod: chip path, or the chip's label (stable when chips are renumbered)",
    )
    line: int | str | None = Field(default=None, description="gpiod: line offset or name")
    edge: Literal["rising", "falling", "both"] = "rising"
    pull: Literal["up", "down", "floating"] = Field(
        default="floating", description="bias; 'floating' leaves the line's bias as it is"
    )
    debounce_ms: float = Field(default=0.0, ge=0.0, le=1000.0)

    @model_validator(mode="after")
    def _check_backend(self) -> GpioSettings:
        if self.backend == "gpiozero":
            if self.pin is None:
                raise ValueError("backend 'gpiozero' needs pin, e.g. pin = 17")
            if self.line is not None:
                raise ValueError("line is for backend 'gpiod'; backend 'gpiozero' uses pin")
        else:
            if self.line is None:
                raise ValueError("backend 'gpiod' needs line (offset on the chip), e.g. line = 17")
            if self.pin is not None or self.pin_factory is not None:
                raise ValueError(
                    "pin and pin_factory are for backend 'gpiozero'; "
                    "backend 'gpiod' uses chip and line"
                )
        if isinstance(self.line, int) and self.line < 0:
            raise ValueError(f"line offset {self.line} is negative")
        return self


def lgpio_tick_stamp(clock: RigClock, ticks: float) -> Stamp:
    """The stamp of an lgpio edge tick (seconds, as gpiozero passes it on).

    Since Linux 5.7 the kernel stamps GPIO edges on CLOCK_MONOTONIC, before on CLOCK_REALTIME;
    the value tells which (the two clocks are decades apart).
    """
    tick_ns = round(ticks * 1e9)
    if abs(tick_ns - clock.wall_ns()) < abs(tick_ns - clock.now_ns()):
        return kernel_realtime_stamp(clock, tick_ns)
    return kernel_monotonic_stamp(clock, tick_ns)


class SequenceGaps:
    """Counts the numbers skipped in a sequence that grows by one per event from 1."""

    def __init__(self) -> None:
        self._last = 0

    def observe(self, seqno: int) -> int:
        missed = max(0, seqno - self._last - 1)
        self._last = max(self._last, seqno)
        return missed


def _chip_path(gpiod: Any, chip: str) -> str:
    """The device path of ``chip``: a path as given, or the chip whose label it is.

    :raises SourceUnavailable: when there is no such chip.
    """
    if chip.startswith("/"):
        if not os.path.exists(chip):
            raise SourceUnavailable(f"GPIO chip {chip} does not exist (see ls /dev/gpiochip*)")
        return chip
    labels: list[str] = []
    for path in sorted(glob.glob("/dev/gpiochip*")):
        try:
            with gpiod.Chip(path) as candidate:
                label = candidate.get_info().label
        except OSError:
            continue
        if label == chip:
            return path
        labels.append(label)
    raise SourceUnavailable(
        f"no GPIO chip is labelled {chip!r} (chips here: {', '.join(labels) or 'none'})"
    )


class GpioSource(SignalSource):
    kind = Source.GPIO
    settings: GpioSettings

    def __init__(self, settings: GpioSettings, sink: CaptureSink, clock: RigClock) -> None:
        super().__init__(settings, sink, clock)
        self._factory: Any = None
        self._owns_factory = False
        self._pin: Any = None
        self._edge_callback: Any = None
        self._kernel_ticks = False
        self._request: Any = None
        self._rising_edge: Any = None
        self._gaps = SequenceGaps()
        self._reader: SupervisedReader | None = None

    @property
    def pin(self) -> Any:
        """The gpiozero pin while open (tests drive a MockFactory pin through it)."""
        return self._pin

    def _open(self) -> None:
        if self.settings.backend == "gpiozero":
            self._open_gpiozero()
        else:
            self._open_gpiod()

    def _close(self) -> None:
        if self._reader is not None:
            self._reader.stop()
            self._reader = None
        if self._request is not None:
            self._request.release()
            self._request = None
        if self._pin is not None:
            self._pin.when_changed = None
            self._pin.close()
            self._pin = None
        self._edge_callback = None
        if self._owns_factory and self._factory is not None:
            self._factory.close()
        self._factory = None

    def _describe(self) -> str:
        if self.settings.backend == "gpiozero":
            return (
                f"gpiozero pin {self.settings.pin!r} ({self.settings.pin_factory or 'default'} "
                "pin factory)"
            )
        return f"gpiod line {self.settings.line!r} of {self.settings.chip}"

    # gpiozero

    def _gpiozero_factory(self) -> tuple[Any, bool]:
        name = self.settings.pin_factory
        if name is None:
            from gpiozero import Device  # type: ignore[import-untyped]

            Device.ensure_pin_factory()
            return Device.pin_factory, False
        for entry in entry_points(group="gpiozero_pin_factories"):
            if entry.name == name.lower():
                return entry.load()(), True
        known = ", ".join(sorted(e.name for e in entry_points(group="gpiozero_pin_factories")))
        raise SourceUnavailable(f"gpiozero has no pin factory {name!r} (known: {known})")

    def _open_gpiozero(self) -> None:
        try:
            self._factory, self._owns_factory = self._gpiozero_factory()
        except SourceUnavailable:
            raise
        except Exception as exc:
            raise SourceUnavailable(
                f"gpio channel {self.name!r}: {self._describe()}: the pin "
                f"factory cannot be loaded: {exc}"
            ) from exc
        try:
            pin = self._factory.pin(self.settings.pin)
            pin.function = "input"
            pin.pull = self.settings.pull
            pin.bounce = self.settings.debounce_ms / 1000 if self.settings.debounce_ms else None
            pin.edges = self.settings.edge
            self._kernel_ticks = type(self._factory).__module__ in _KERNEL_TICK_FACTORIES
            if not self._kernel_ticks:
                bound_switch_interval()
            self._edge_callback = self._on_gpiozero_edge
            pin.when_changed = self._edge_callback
        except Exception as exc:
            if self._owns_factory:
                self._factory.close()
            self._factory = None
            raise SourceUnavailable(
                f"gpio channel {self.name!r}: {self._describe()} cannot be used: {exc}"
            ) from exc
        self._pin = pin

    def _on_gpiozero_edge(self, ticks: float, state: int) -> None:
        stamp = (
            lgpio_tick_stamp(self._clock, ticks) if self._kernel_ticks else user_stamp(self._clock)
        )
        self._deliver_edge(stamp, "rising" if state else "falling", {})

    # gpiod

    def _open_gpiod(self) -> None:
        self._request_gpiod_line()
        self._reader = SupervisedReader(self, self._read_gpiod_events, self._rerequest_gpiod_line)
        self._reader.start()

    def _rerequest_gpiod_line(self) -> None:
        if self._request is not None:
            try:
                self._request.release()
            except OSError:
                logger.debug("channel %s: releasing the lost line failed", self.name)
            self._request = None
        self._request_gpiod_line()

    def _request_gpiod_line(self) -> None:
        try:
            import gpiod
            from gpiod.line import Bias, Direction, Edge
            from gpiod.line import Clock as EventClock
        except ImportError as exc:
            raise SourceUnavailable(_GPIOD_MISSING) from exc
        chip = _chip_path(gpiod, self.settings.chip)
        line_settings = gpiod.LineSettings(
            direction=Direction.INPUT,
            edge_detection={"rising": Edge.RISING, "falling": Edge.FALLING, "both": Edge.BOTH}[
                self.settings.edge
            ],
            bias={"up": Bias.PULL_UP, "down": Bias.PULL_DOWN, "floating": Bias.AS_IS}[
                self.settings.pull
            ],
            debounce_period=timedelta(milliseconds=self.settings.debounce_ms),
            event_clock=EventClock.MONOTONIC,
        )
        line = self.settings.line
        assert line is not None, "GpioSettings requires line for backend 'gpiod'"
        try:
            self._request = gpiod.request_lines(
                chip, consumer=f"rig-agent:{self.name}", config={line: line_settings}
            )
        except PermissionError as exc:
            raise SourceUnavailable(
                f"GPIO chip {chip}: permission denied; add the rig user to the 'gpio' group"
            ) from exc
        except OSError as exc:
            reason = "the line is in use by another program" if exc.errno == errno.EBUSY else exc
            raise SourceUnavailable(f"{self._describe()} cannot be requested: {reason}") from exc
        except ValueError as exc:
            raise SourceUnavailable(f"{self._describe()}: {exc}") from exc
        self._gaps = SequenceGaps()
        self._rising_edge = gpiod.EdgeEvent.Type.RISING_EDGE

    def _read_gpiod_events(self) -> None:
        if not self._request.wait_edge_events(_WAIT_TIMEOUT_S):
            return
        for event in self._request.read_edge_events():
            missed = self._gaps.observe(event.line_seqno)
            if missed:
                self.drops += missed
                logger.warning(
                    "channel %s: the kernel dropped %d edge(s) before seqno %d",
                    self.name,
                    missed,
                    event.line_seqno,
                )
            rising = event.event_type is self._rising_edge
            self._deliver_edge(
                kernel_monotonic_stamp(self._clock, event.timestamp_ns),
                "rising" if rising else "falling",
                {"line_seqno": event.line_seqno, "global_seqno": event.global_seqno},
            )

    def _deliver_edge(self, stamp: Stamp, edge: str, extra: dict[str, Any]) -> None:
        self._deliver(stamp.capture(self.name, edge.encode(), True, {"edge": edge, **extra}))
