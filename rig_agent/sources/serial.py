"""Serial lines (pyserial): one capture per line, stamped when its first byte arrived.

A serial port gives no kernel timestamp, so the stamp is read in user space (``user_monotonic``)
by a reader that does nothing else, never on the agent's event loop: a busy loop would move it.
The reader blocks until one byte is there, stamps, then takes whatever else has arrived.

A device path is read by a capture process of its own (:mod:`._serial_process`), so neither the
agent's other threads (through the GIL) nor its busy moments can hold the stamp back; a reader
thread here receives the stamped chunks, splits lines and decodes. A pyserial URL (``loop://``,
``socket://``) names a port that lives in this process, so it is read by a thread here.

Bytes the port lost to overruns (a full UART FIFO or tty buffer) count in ``drops`` where the
driver counts them (``TIOCGICOUNT``: 8250-family UARTs, FTDI and other USB-serial adapters); a
pty, or a pyserial URL port, has no such counters.

USB-serial adapters hold received bytes for their latency timer before passing them on (16 ms by
default on FTDI), which delays every stamp by up to that much. The timer is read from sysfs when
the port is such an adapter, kept in ``latency_timer_ms`` and warned about above 1 ms
(``echo 1 > /sys/bus/usb-serial/devices/ttyUSB0/latency_timer`` or a udev rule sets it).
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
from typing import Literal

import serial  # type: ignore[import-untyped]
from pydantic import Field, model_validator

from protocol import Clock, Source
from rig_agent.clock import RigClock
from rig_agent.sources._decoding import DecodingSource
from rig_agent.sources._lines import LineAssembler, LineDecoder, LineFormatSettings, line_capture
from rig_agent.sources._reader import SupervisedReader, bound_switch_interval
from rig_agent.sources._serial_process import DATA, OVERRUNS, CaptureFailed, CaptureProcess
from rig_agent.sources._stamps import Stamp, user_stamp
from rig_agent.sources.base import CaptureSink, ChannelSettings, SourceUnavailable

__all__ = ["SerialSettings", "SerialSource", "usb_latency_timer_ms"]

logger = logging.getLogger(__name__)

USB_SERIAL_SYSFS = Path("/sys/bus/usb-serial/devices")
_READ_TIMEOUT_S = 0.1
_LATENCY_WARN_MS = 1


class SerialSettings(ChannelSettings, LineFormatSettings):
    """A serial channel: ``port`` is a device path or a pyserial URL (``loop://``, ``rfc2217://``)."""

    source: Literal[Source.SERIAL] = Source.SERIAL
    port: str = Field(min_length=1, description="device path (/dev/ttyUSB0) or pyserial URL")
    baudrate: int = Field(default=115200, gt=0, le=20_000_000)
    realtime_priority: int | None = Field(
        default=None,
        ge=1,
        le=99,
        description="SCHED_FIFO priority of the capture process (opt-in; device paths only)",
    )

    @model_validator(mode="after")
    def _check_realtime(self) -> SerialSettings:
        if self.realtime_priority is not None and "://" in self.port:
            raise ValueError(
                f"realtime_priority applies to the capture process of a device path; "
                f"{self.port!r} is a URL port, read in the agent's own process"
            )
        return self


def usb_latency_timer_ms(port: str, sysfs: Path | None = None) -> int | None:
    """The latency timer of the USB-serial adapter behind ``port``, or None when it has none."""
    if "://" in port:
        return None
    device = os.path.basename(os.path.realpath(port))
    timer = (sysfs or USB_SERIAL_SYSFS) / device / "latency_timer"
    try:
        return int(timer.read_text().strip())
    except (OSError, ValueError):
        return None


def _unavailable(port: str, error_number: int | None, reason: str) -> SourceUnavailable:
    hints = {
        errno.ENOENT: "no such device: is the adapter plugged in and the path right?",
        errno.EACCES: "permission denied: add the rig user to the 'dialout' group",
        errno.EBUSY: "the port is busy: another program has it open",
        errno.EAGAIN: "the port is locked by another program",
    }
    hint = hints.get(error_number or 0)
    return SourceUnavailable(
        f"serial port {port!r} cannot be opened: " + (f"{hint} ({reason})" if hint else reason)
    )


class SerialSource(DecodingSource):
    kind = Source.SERIAL
    settings: SerialSettings

    def __init__(self, settings: SerialSettings, sink: CaptureSink, clock: RigClock) -> None:
        super().__init__(settings, sink, clock)
        self._decoder = LineDecoder(settings)
        self._lines: LineAssembler[Stamp] = LineAssembler()
        self._port: serial.SerialBase | None = None
        self._capture: CaptureProcess | None = None
        self._reader: SupervisedReader | None = None
        self.latency_timer_ms: int | None = None
        """The USB-serial adapter's latency timer, when the port is one."""
        self.realtime_priority = 0
        """The SCHED_FIFO priority the capture process got (0: normal scheduling)."""

    @property
    def port(self) -> serial.SerialBase | None:
        """The port while a URL port is open in this process (tests write to ``loop://``)."""
        return self._port

    @property
    def isolated(self) -> bool:
        """Whether the port is read by a capture process (device paths) or a thread (URLs)."""
        return "://" not in self.settings.port

    def probe(self) -> str:
        port = self._open_port()
        port.close()
        timer = self._check_latency_timer()
        described = (
            f"serial channel {self.name!r}: {self.settings.port} at {self.settings.baudrate} baud"
        )
        return described + (f", USB latency timer {timer} ms" if timer is not None else "")

    def _open(self) -> None:
        self._check_latency_timer()
        if self.isolated:
            self._capture = self._start_capture()
            self._reader = SupervisedReader(self, self._read_capture, self._restart_capture)
        else:
            self._port = self._open_port()
            bound_switch_interval()
            self._reader = SupervisedReader(self, self._read_port, self._reopen_port)
        self._reader.start()

    def _close(self) -> None:
        if self._reader is not None:
            if self._port is not None:
                self._port.cancel_read()
            self._reader.stop()
            self._reader = None
        if self._capture is not None:
            self._capture.stop()
            self._capture = None
        if self._port is not None:
            self._port.close()
            self._port = None
        self._deliver_lines(self._lines.flush())

    def _start_capture(self) -> CaptureProcess:
        wanted = self.settings.realtime_priority
        capture = CaptureProcess(self.settings.port, self.settings.baudrate, wanted)
        try:
            capture.start()
        except CaptureFailed as exc:
            raise _unavailable(self.settings.port, exc.errno, str(exc)) from exc
        if wanted and not capture.realtime_priority:
            logger.warning(
                "channel %s: real-time priority %d was refused (needs CAP_SYS_NICE or an "
                "RLIMIT_RTPRIO); capturing with normal scheduling",
                self.name,
                wanted,
            )
        self.realtime_priority = capture.realtime_priority
        return capture

    def _read_capture(self) -> None:
        assert self._capture is not None
        frame = self._capture.next_frame(_READ_TIMEOUT_S)
        if frame is not None and frame[0] == OVERRUNS:
            self.drops += frame[1]
            logger.warning(
                "channel %s: the port overran: %d byte(s) lost before they were read",
                self.name,
                frame[1],
            )
            return
        if frame is None or frame[0] != DATA:
            return
        _, mono_ns, chunk = frame
        stamp = Stamp(mono_ns, self._clock.mono_to_wall(mono_ns), Clock.USER_MONOTONIC)
        self._deliver_lines(self._lines.feed(chunk, stamp))

    def _restart_capture(self) -> None:
        """After the capture process failed (adapter unplugged, pty closed): keep what came."""
        self._deliver_lines(self._lines.flush())
        if self._capture is not None:
            self._capture.stop()
            self._capture = None
        self._capture = self._start_capture()

    def _open_port(self) -> serial.SerialBase:
        try:
            return serial.serial_for_url(
                self.settings.port,
                baudrate=self.settings.baudrate,
                timeout=_READ_TIMEOUT_S,
                exclusive=True,
            )
        except serial.SerialException as exc:
            raise _unavailable(self.settings.port, exc.errno, str(exc)) from exc
        except ValueError as exc:
            raise SourceUnavailable(f"serial port {self.settings.port!r}: {exc}") from exc

    def _check_latency_timer(self) -> int | None:
        self.latency_timer_ms = usb_latency_timer_ms(self.settings.port)
        if self.latency_timer_ms is not None and self.latency_timer_ms > _LATENCY_WARN_MS:
            logger.warning(
                "channel %s: USB-serial latency timer of %s is %d ms, so stamps are late by up "
                "to that much; set it to 1 ms",
                self.name,
                self.settings.port,
                self.latency_timer_ms,
            )
        return self.latency_timer_ms

    def _read_port(self) -> None:
        assert self._port is not None
        first = self._port.read(1)
        if not first:
            return
        stamp = user_stamp(self._clock)
        waiting = self._port.in_waiting
        chunk = first + self._port.read(waiting) if waiting else first
        self._deliver_lines(self._lines.feed(chunk, stamp))

    def _reopen_port(self) -> None:
        """After a read failure: keep what came, open again."""
        self._deliver_lines(self._lines.flush())
        if self._port is not None:
            self._port.close()
        self._port = self._open_port()

    def _deliver_lines(self, lines: list[tuple[bytes, Stamp]]) -> None:
        for line, stamp in lines:
            self._deliver(line_capture(self.name, line, stamp, self._decoder))
