"""Serial capture in a process of its own, so nothing else in the agent can hold a stamp back.

A serial port has no kernel timestamp: the stamp is read in user space when the first byte of a
line has been read. In the agent's process that read competes with every other thread for the
GIL (a thread encoding or validating holds it up to the switch interval) and the busy process
competes for the CPU as a whole. The capture process does only this: it blocks on the port,
stamps each chunk as soon as its first byte is read, and sends ``(stamp, chunk)`` to the agent,
which splits the lines and decodes them. CLOCK_MONOTONIC is one clock for every process.

With ``realtime_priority`` the child asks for SCHED_FIFO at that priority, so a loaded machine
cannot keep it waiting for a CPU either; it only sleeps or reads, so it cannot starve others. A
refusal (no privilege, a kernel without it) is reported and capture goes on without it.

The child is this file run as a script with only the standard library and pyserial, so it
starts in tens of milliseconds and imports nothing of the agent. It ignores SIGINT and SIGTERM,
which a terminal's Ctrl-C or systemd's stop send to the whole process group: the agent decides
when capture ends and kills it then, after its own shutdown. It exits by itself when the agent
closes its stdin or dies, and when the port fails (after saying why).

Where the driver counts them (``TIOCGICOUNT``: 8250-family UARTs, USB-serial adapters such as
FTDI's), the child also watches the port's receive overruns (the UART's FIFO or the tty buffer
full: bytes lost before anyone read them) and reports their running total when it grows. A pty
or a driver without the counters reports nothing.

Frames on the child's stdout: a header ``<B kind><q value><i length>`` then ``length`` bytes.
``READY`` (port open; value = the real-time priority granted, 0 for none), ``DATA`` (value =
monotonic ns of the chunk's first byte, payload = the chunk), ``OVERRUNS`` (value = bytes lost
to overruns since the port opened), ``ERROR`` (value = errno or 0, payload = the message, UTF-8).
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import time
from typing import IO

__all__ = ["CaptureFailed", "CaptureProcess", "overrun_total"]

READY, DATA, ERROR, OVERRUNS = 0, 1, 2, 3
_HEADER = struct.Struct("<Bqi")
_TIOCGICOUNT = 0x545D
_ICOUNT = struct.Struct("@20i")
"""struct serial_icounter_struct: cts dsr rng dcd rx tx frame overrun parity brk buf_overrun,
then 9 reserved."""
_OVERRUN, _BUF_OVERRUN = 7, 10
_READ_TIMEOUT_S = 0.1


class CaptureFailed(Exception):
    """The capture process could not open the port, lost it, or ended."""

    def __init__(self, message: str, errno: int = 0) -> None:
        super().__init__(message)
        self.errno = errno


def _read_exactly(fd: int, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise CaptureFailed("the serial capture process ended")
        data += chunk
    return bytes(data)


class CaptureProcess:
    """The agent's side: starts the child and reads its frames."""

    def __init__(self, port: str, baudrate: int, realtime_priority: int | None = None) -> None:
        # -P: this file's folder must not go on sys.path, or "import serial" finds serial.py there.
        self._command = [
            sys.executable,
            "-P",
            os.path.abspath(__file__),
            port,
            str(baudrate),
            str(realtime_priority or 0),
        ]
        self._process: subprocess.Popen[bytes] | None = None
        self._stdout = -1
        self.realtime_priority = 0
        """The SCHED_FIFO priority the child got (0: normal scheduling)."""

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the child and wait until it has the port open.

        :raises CaptureFailed: with the child's reason (and errno) when it cannot open the port.
        """
        self._process = subprocess.Popen(
            self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
        )
        assert self._process.stdout is not None
        self._stdout = self._process.stdout.fileno()
        frame = self.next_frame(timeout_s)
        if frame is None:
            self.stop()
            raise CaptureFailed(f"the serial capture process did not start within {timeout_s} s")
        if frame[0] != READY:
            self.stop()
            raise CaptureFailed("the serial capture process sent no READY")
        self.realtime_priority = frame[1]

    def next_frame(self, timeout_s: float) -> tuple[int, int, bytes] | None:
        """``(kind, value, payload)`` of the next DATA, OVERRUNS or READY frame; None on timeout.

        :raises CaptureFailed: when the child reports an error or has ended.
        """
        ready, _, _ = select.select([self._stdout], [], [], timeout_s)
        if not ready:
            return None
        kind, value, length = _HEADER.unpack(_read_exactly(self._stdout, _HEADER.size))
        payload = _read_exactly(self._stdout, length)
        if kind == ERROR:
            raise CaptureFailed(payload.decode("utf-8", errors="replace"), value)
        return kind, value, payload

    def stop(self) -> None:
        """End the child at once: it holds nothing that needs a clean close."""
        if self._process is None:
            return
        process, self._process = self._process, None
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()


def overrun_total(icount: bytes) -> int:
    """Bytes lost to overruns in a ``TIOCGICOUNT`` answer: the UART's and the tty buffer's."""
    counters = _ICOUNT.unpack_from(icount)
    return counters[_OVERRUN] + counters[_BUF_OVERRUN]


def _overruns(fd: int) -> int | None:
    """The port's overrun total, or None where the driver keeps no counters (a pty)."""
    try:
        return overrun_total(fcntl.ioctl(fd, _TIOCGICOUNT, bytes(_ICOUNT.size)))
    except OSError:
        return None


def _send(out: IO[bytes], kind: int, value: int, payload: bytes) -> None:
    out.write(_HEADER.pack(kind, value, len(payload)) + payload)
    out.flush()


def _parent_gone() -> bool:
    """The agent closes our stdin to stop us, and so does its death."""
    readable, _, _ = select.select([sys.stdin.buffer], [], [], 0)
    return bool(readable) and not os.read(sys.stdin.fileno(), 1)


def _realtime(priority: int) -> int:
    """Ask for SCHED_FIFO at ``priority``; the priority granted, 0 when refused or not asked."""
    if priority <= 0:
        return 0
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (AttributeError, OSError):
        return 0
    return priority


def _capture(port: str, baudrate: int, priority: int) -> int:
    import serial  # type: ignore[import-untyped]

    out = sys.stdout.buffer
    granted = _realtime(priority)
    try:
        device = serial.serial_for_url(
            port, baudrate=baudrate, timeout=_READ_TIMEOUT_S, exclusive=True
        )
    except (serial.SerialException, ValueError) as exc:
        _send(out, ERROR, getattr(exc, "errno", None) or 0, str(exc).encode())
        return 1
    _send(out, READY, granted, b"")
    fd = device.fileno()
    reported = _overruns(fd)
    try:
        while True:
            first = device.read(1)
            if first:
                stamp = time.monotonic_ns()
                waiting = device.in_waiting
                _send(out, DATA, stamp, first + device.read(waiting) if waiting else first)
            elif _parent_gone():
                return 0
            if reported is not None and (total := _overruns(fd)) is not None and total != reported:
                _send(out, OVERRUNS, total - reported, b"")
                reported = total
    except serial.SerialException as exc:
        _send(out, ERROR, exc.errno or 0, str(exc).encode())
        return 1


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        sys.exit(_capture(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
    except BrokenPipeError:  # the agent is gone: nobody to tell
        sys.exit(0)
