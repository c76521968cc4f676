"""``stamp_accuracy.py --kernel``: GPIO edge and CAN frame stamps on a real kernel's devices.

Runs as root on a kernel with gpio-sim and vcan (the kernel lane's VM: ``tests/kernel/run``).
A sender process plays the system under test: it toggles gpio-sim lines through their sysfs
``pull`` attribute and sends CAN frames on a vcan interface, each time reading CLOCK_MONOTONIC
just before. In the agent's process, the rig agent's sources stamp what arrives (gpiod edge events:
the kernel's CLOCK_MONOTONIC edge stamp; SocketCAN: the kernel's receive stamp), and beside them a
naive reader of the same kind of signal stamps with ``time.monotonic_ns()`` when its read
returns (a gpiod request on a twin line, python-can's ``Notifier``), as code without kernel stamps
would. A busy thread holds the GIL ``--stall-ms`` of every ``--every-ms``, as a busy agent would.

Figures: stamp minus send time, p50/p99/max in microseconds, and the naive p99 over ours. Under
software emulation the absolute figures are pessimistic (every instruction is slow, and the
sender's own write takes long); the ratio is the figure.
"""

from __future__ import annotations

import argparse
import multiprocessing
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import can
import numpy as np

from rig_agent.clock import RigClock
from rig_agent.sources.base import Capture
from rig_agent.sources.can import CanSettings, CanSource
from rig_agent.sources.gpio import GpioSettings, GpioSource

__all__ = ["run_kernel"]

GPIO_SIM = Path("/sys/kernel/config/gpio-sim")
_WARMUP = 20


@dataclass
class _Edges:
    """Each edge seen: its stamp and whether it rose."""

    seen: list[tuple[int, bool]] = field(default_factory=list)


@contextmanager
def _sim_chip() -> Iterator[tuple[str, list[Path]]]:
    """A gpio-sim chip with two lines: (device node, sysfs folder of each line)."""
    device = GPIO_SIM / f"bench-{uuid.uuid4().hex[:8]}"
    bank = device / "bank0"
    device.mkdir()
    bank.mkdir()
    (bank / "num_lines").write_text("2")
    (device / "live").write_text("1")
    try:
        chip = (bank / "chip_name").read_text().strip()
        sysfs = Path("/sys/devices/platform") / (device / "dev_name").read_text().strip() / chip
        yield f"/dev/{chip}", [sysfs / "sim_gpio0", sysfs / "sim_gpio1"]
    finally:
        (device / "live").write_text("0")
        bank.rmdir()
        device.rmdir()


def _sender(conn: Connection, lines: list[str], channel: str, count: int, rate: float) -> None:
    """The system under test, in a process of its own: one GPIO pulse edge on each line and one
    CAN frame per period; sends back the instant taken just before each signal."""
    bus = can.Bus(interface="socketcan", channel=channel)
    pulls = [open(line, "w") for line in lines]  # noqa: SIM115 - kept open for the whole run
    sent: dict[str, list[int]] = {"gpio": [], "gpio_naive": [], "can": []}
    period_ns = int(1e9 / rate)
    next_ns = time.monotonic_ns()
    try:
        for n in range(count):
            next_ns += period_ns
            while (wait_ns := next_ns - time.monotonic_ns()) > 0:
                time.sleep(wait_ns / 1e9)
            level = "pull-up" if n % 2 == 0 else "pull-down"
            for name, pull in zip(("gpio", "gpio_naive"), pulls, strict=True):
                sent[name].append(time.monotonic_ns())
                pull.write(level)
                pull.flush()
            sent_ns = time.monotonic_ns()
            sent["can"].append(sent_ns)
            bus.send(can.Message(arbitration_id=0x100, data=struct.pack("<Q", sent_ns)))
    finally:
        bus.shutdown()
        for pull in pulls:
            pull.close()
    conn.send(sent)


def _busy(stop: threading.Event, stall_s: float, every_s: float) -> None:
    """Hold the GIL ``stall_s`` of every ``every_s``, as an agent busy encoding would."""
    while not stop.is_set():
        until = time.monotonic() + stall_s
        while time.monotonic() < until:
            pass
        time.sleep(max(0.0, every_s - stall_s))


def _naive_gpio(chip: str, stop: threading.Event, edges: _Edges) -> None:
    """A gpiod reader that stamps in user space once its wait returns."""
    import gpiod
    from gpiod.line import Direction, Edge

    settings = gpiod.LineSettings(direction=Direction.INPUT, edge_detection=Edge.BOTH)
    with gpiod.request_lines(chip, consumer="naive", config={1: settings}) as request:
        while not stop.is_set():
            if request.wait_edge_events(timedelta(milliseconds=100)):
                now = time.monotonic_ns()
                for event in request.read_edge_events():
                    edges.seen.append((now, event.event_type is event.Type.RISING_EDGE))


def _gpio_errors_us(sent: list[int], edges: _Edges) -> np.ndarray:
    """Each edge against the latest level change of its direction sent before its stamp.

    Pairing by sequence number would be simpler, but gpio-sim folds two changes of one line
    into one edge when the second comes before the first's simulated interrupt has run (a
    sender running late under emulation): the numbers would then pair each later edge with an
    earlier send.
    """
    sends = np.asarray(sent, dtype=np.int64)
    rising_sends, falling_sends = sends[0::2], sends[1::2]  # the sender starts by pulling up
    errors = []
    for stamp, rising in edges.seen[_WARMUP:]:
        candidates = rising_sends if rising else falling_sends
        before = int(np.searchsorted(candidates, stamp, side="right")) - 1
        if before >= 0:
            errors.append(stamp - int(candidates[before]))
    return np.asarray(errors, dtype=np.int64) / 1e3


def _can_errors_us(received: list[tuple[bytes, int]]) -> np.ndarray:
    """Each frame carries its send instant: stamp minus that."""
    errors = [stamp - struct.unpack("<Q", data)[0] for data, stamp in received[_WARMUP:]]
    return np.asarray(errors, dtype=np.int64) / 1e3


def _row(label: str, stamp: str, errors: np.ndarray, ratio: str = "") -> float:
    """Print one line of the table; return p99 in us (nan when nothing came)."""
    if errors.size == 0:
        print(f"{label:<8}{stamp:<42}{0:>6}{'-':>10}{'-':>10}{'-':>10}{ratio:>16}")
        return float("nan")
    p50, p99 = float(np.percentile(errors, 50)), float(np.percentile(errors, 99))
    print(
        f"{label:<8}{stamp:<42}{errors.size:>6}{p50:>10.1f}{p99:>10.1f}{errors.max():>10.1f}"
        f"{ratio:>16}"
    )
    return p99


def _p99(errors: np.ndarray) -> float:
    return float(np.percentile(errors, 99)) if errors.size else float("nan")


def run_kernel(args: argparse.Namespace) -> int:
    """Measure and print; 1 when a source delivered nothing (a setup problem, not a figure)."""
    clock = RigClock()
    gpio_ours, gpio_naive = _Edges(), _Edges()
    can_ours: list[tuple[bytes, int]] = []
    can_naive: list[tuple[bytes, int]] = []

    def gpio_sink(capture: Capture) -> None:
        gpio_ours.seen.append((capture.t_mono_ns, capture.decoded["edge"] == "rising"))

    def can_sink(capture: Capture) -> None:
        can_ours.append((capture.raw, capture.t_mono_ns))

    with _sim_chip() as (chip, lines):
        gpio = GpioSource(
            GpioSettings(name="gpio", backend="gpiod", chip=chip, line=0, edge="both"),
            gpio_sink,
            clock,
        )
        frames = CanSource(
            CanSettings(name="can", interface="socketcan", channel=args.can_channel),
            can_sink,
            clock,
        )
        naive_bus = can.Bus(interface="socketcan", channel=args.can_channel)
        notifier = can.Notifier(
            naive_bus, [lambda msg: can_naive.append((bytes(msg.data), time.monotonic_ns()))]
        )
        stop = threading.Event()
        helpers = [
            threading.Thread(target=_naive_gpio, args=(chip, stop, gpio_naive)),
            threading.Thread(target=_busy, args=(stop, args.stall_ms / 1e3, args.every_ms / 1e3)),
        ]
        receiving, sending = multiprocessing.Pipe(duplex=False)
        pulls = [str(line / "pull") for line in lines]
        sender = multiprocessing.Process(
            target=_sender, args=(sending, pulls, args.can_channel, args.count, args.rate)
        )
        with gpio, frames:
            for helper in helpers:
                helper.start()
            time.sleep(0.2)
            sender.start()
            sent = receiving.recv()
            sender.join()
            time.sleep(0.5)
            stop.set()
            for helper in helpers:
                helper.join()
        notifier.stop()
        naive_bus.shutdown()
    print(
        f"stamp minus send time on {_kernel()}, {args.count} signals per source at "
        f"{args.rate:g} Hz, first {_WARMUP} dropped; GIL held {args.stall_ms:g} ms of every "
        f"{args.every_ms:g} ms; GPIO drops {gpio.drops}, CAN drops {frames.drops}"
    )
    print(
        f"{'source':<8}{'stamp':<42}{'n':>6}{'p50 us':>10}{'p99 us':>10}{'max us':>10}"
        f"{'naive p99/ours':>16}"
    )
    measured = [
        (
            "gpio",
            "ours: gpiod kernel edge stamp",
            _gpio_errors_us(sent["gpio"], gpio_ours),
            "naive: gpiod read, then monotonic_ns()",
            _gpio_errors_us(sent["gpio_naive"], gpio_naive),
        ),
        (
            "can",
            "ours: SocketCAN kernel receive stamp",
            _can_errors_us(can_ours),
            "naive: python-can Notifier callback",
            _can_errors_us(can_naive),
        ),
    ]
    complete = True
    for label, ours_kind, ours, naive_kind, naive in measured:
        _row(label, ours_kind, ours, f"{_p99(naive) / _p99(ours):.1f}x")
        _row("", naive_kind, naive)
        complete = complete and ours.size > 0 and naive.size > 0
    print("absolute figures under software emulation are pessimistic; the ratio is the figure")
    return 0 if complete else 1


def _kernel() -> str:
    import platform

    return f"Linux {platform.release()}"
