"""How close to the send instant do the rig agent's stamps land while its event loop is busy?

A generator in another process sends UDP datagrams (loopback) and serial lines (pty pairs), and a
sender thread feeds CAN frames on python-can's virtual bus; each signal carries the sender's
``time.monotonic_ns()`` taken just before it was sent (CLOCK_MONOTONIC is one clock for every
process). The agent's sources (``NetworkSource``, ``SerialSource``, ``CanSource``) stamp them,
while a busy task in the agent's process holds its asyncio event loop ``--stall-ms`` at a time.
Beside them, a naive baseline reads the same traffic on that event loop (asyncio datagram
protocol, ``loop.add_reader`` on a second pty, python-can's ``Notifier`` + ``AsyncBufferedReader``)
and stamps with ``time.monotonic_ns()`` after the read.

A third pty is read by a floor reader: a process of its own with nothing else to do (real-time
priority where allowed), stamping as ours does. It shows what the kernel's pty path and the
machine's load cost before any agent code runs. The serial channel's capture process runs with
normal scheduling unless ``--serial-realtime-priority`` gives it the channel's opt-in setting.

Figures are stamp minus send time, per source: p50, p99 and max in microseconds, and the ratio of
the baseline's p99 to ours. Goals: UDP p99 <= 50 us and >= 10x better than the baseline; serial
p99 <= 300 us. The exit status is 1 when a goal is missed.

    .venv/bin/python bench/stamp_accuracy.py --count 2000 --rate 100 --stall-ms 2 --every-ms 4
    .venv/bin/python bench/stamp_accuracy.py --serial-realtime-priority 10

``--kernel`` measures GPIO edges (gpio-sim) and CAN frames (vcan) on a real kernel instead: see
``bench/kernel_stamps.py``; the kernel lane (``tests/kernel/run``) runs it inside its VM.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import select
import socket
import struct
import sys
import threading
import time
import tty
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import can
import numpy as np

from rig_agent.clock import RigClock
from rig_agent.sources._lines import LineFormat
from rig_agent.sources.base import Capture
from rig_agent.sources.can import CanSettings, CanSource
from rig_agent.sources.network import NetworkSettings, NetworkSource
from rig_agent.sources.serial import SerialSettings, SerialSource

WARMUP = 50
"""Signals dropped from the start of each series (thread start-up, first allocations)."""
GOAL_UDP_P99_US = 50.0
GOAL_UDP_RATIO = 10.0
GOAL_SERIAL_P99_US = 300.0


# The generator process --------------------------------------------------------------------------


def realtime_priority() -> str:
    """Ask for SCHED_FIFO where allowed; say what this process got."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    except (AttributeError, PermissionError, OSError):
        return "normal"
    return "SCHED_FIFO"


def generator(conn: Connection) -> None:
    """Runs in its own process: makes the ptys, then sends every signal to every reader.

    It plays the system under test, whose send instant is exact: where allowed it runs with
    real-time priority, so a preemption between its clock read and its send does not count
    against the agent. The third pty goes to the floor reader.
    """
    priority = realtime_priority()
    ptys = [os.openpty(), os.openpty(), os.openpty()]
    conn.send(([os.ttyname(slave) for _, slave in ptys], priority))
    udp_ours, udp_base, count, rate = conn.recv()
    masters = [master for master, _ in ptys]
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    period_ns = int(1e9 / rate)
    next_ns = time.monotonic_ns()
    for _ in range(count):
        next_ns += period_ns
        while (wait_ns := next_ns - time.monotonic_ns()) > 0:
            time.sleep(wait_ns / 1e9)
        for address in (udp_ours, udp_base):
            sender.sendto(str(time.monotonic_ns()).encode(), address)
        for master in masters:
            os.write(master, f"{time.monotonic_ns()}\n".encode())
    time.sleep(0.2)
    conn.send("done")
    conn.recv()


def floor_reader(path: str, conn: Connection) -> None:
    """Runs in its own process with nothing else to do: how fast the pty path itself delivers.

    Stamps like ours (right after the read that brings the first byte of a line), with no GIL to
    share and real-time priority where allowed; what it measures is the kernel's and the
    machine's share of the serial figures.
    """
    conn.send(realtime_priority())
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    errors_ns: list[int] = []
    pending = bytearray()
    while not conn.poll():
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        data = os.read(fd, 4096)
        stamp = time.monotonic_ns()
        pending.extend(data)
        while (end := pending.find(b"\n")) >= 0:
            errors_ns.append(stamp - int(pending[:end]))
            del pending[: end + 1]
    os.close(fd)
    conn.send(errors_ns)


# Ours -------------------------------------------------------------------------------------------


@dataclass
class Series:
    """Stamp minus send time of each signal, in ns."""

    errors_ns: list[int] = field(default_factory=list)

    def add(self, stamp_ns: int, sent_ns: int) -> None:
        self.errors_ns.append(stamp_ns - sent_ns)


def sink_into(series: Series, sent_of: Callable[[Capture], int]) -> Callable[[Capture], None]:
    def sink(capture: Capture) -> None:
        series.add(capture.t_mono_ns, sent_of(capture))

    return sink


def can_sender(channel: str, count: int, rate: float) -> None:
    """A thread in the agent's process: one frame per period, carrying its send time."""
    bus = can.Bus(interface="virtual", channel=channel)
    period_ns = int(1e9 / rate)
    next_ns = time.monotonic_ns()
    try:
        for _ in range(count):
            next_ns += period_ns
            while (wait_ns := next_ns - time.monotonic_ns()) > 0:
                time.sleep(wait_ns / 1e9)
            sent_ns = time.monotonic_ns()
            bus.send(
                can.Message(
                    arbitration_id=0x100, data=struct.pack("<Q", sent_ns), is_extended_id=False
                )
            )
    finally:
        bus.shutdown()


# The naive baseline on the event loop ------------------------------------------------------------


class NaiveDatagrams(asyncio.DatagramProtocol):
    def __init__(self, series: Series) -> None:
        self.series = series

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.series.add(time.monotonic_ns(), int(data))


class NaiveBaseline:
    """The naive readers, on the agent's event loop: each stamps right after its asyncio read."""

    def __init__(self, series: dict[str, Series]) -> None:
        self._series = series
        self._pending = bytearray()
        self._serial_fd = -1
        self._transport: asyncio.DatagramTransport | None = None
        self._bus: can.BusABC | None = None
        self._notifier: can.Notifier | None = None
        self._consumer: asyncio.Task[None] | None = None

    async def start(self, serial_path: str, can_channel: str) -> tuple[str, int]:
        """Start reading; returns the UDP address to send to."""
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: NaiveDatagrams(self._series["udp"]), local_addr=("127.0.0.1", 0)
        )
        self._serial_fd = os.open(serial_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self._serial_fd)
        loop.add_reader(self._serial_fd, self._serial_readable)
        # python-can's asyncio path: a Notifier thread hands frames to the loop.
        self._bus = can.Bus(interface="virtual", channel=can_channel)
        reader = can.AsyncBufferedReader()
        self._notifier = can.Notifier(self._bus, [reader], loop=loop)
        self._consumer = asyncio.create_task(self._consume_can(reader))
        address: tuple[str, int] = self._transport.get_extra_info("sockname")
        return address

    def _serial_readable(self) -> None:
        data = os.read(self._serial_fd, 4096)
        stamp = time.monotonic_ns()
        self._pending.extend(data)
        while (end := self._pending.find(b"\n")) >= 0:
            self._series["serial"].add(stamp, int(self._pending[:end]))
            del self._pending[: end + 1]

    async def _consume_can(self, reader: can.AsyncBufferedReader) -> None:
        async for msg in reader:
            self._series["can"].add(time.monotonic_ns(), struct.unpack("<Q", msg.data)[0])

    def stop(self) -> None:
        asyncio.get_running_loop().remove_reader(self._serial_fd)
        os.close(self._serial_fd)
        if self._transport is not None:
            self._transport.close()
        if self._notifier is not None:
            self._notifier.stop()
        if self._consumer is not None:
            self._consumer.cancel()
        if self._bus is not None:
            self._bus.shutdown()


async def busy_loop(stall_s: float, every_s: float, spin: bool, stop: asyncio.Event) -> None:
    """Holds the event loop ``stall_s`` out of every ``every_s``, as a slow encode or commit would.

    ``spin``: a pure-Python spin, which also holds the GIL (like encoding or validating in
    Python): the worst case for user-space stamps taken in other threads. Otherwise a blocking
    sleep, which releases the GIL (like a disk commit or a blocking socket call).
    """
    while not stop.is_set():
        start = time.perf_counter()
        if spin:
            while time.perf_counter() - start < stall_s:
                pass
        else:
            time.sleep(stall_s)  # noqa: ASYNC251 - blocking the loop is the point
        await asyncio.sleep(max(0.0, every_s - (time.perf_counter() - start)))


# The run ----------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> tuple[dict[str, tuple[Series, Series]], Series, str]:
    clock = RigClock()
    ours = {name: Series() for name in ("udp", "serial", "can")}
    naive = {name: Series() for name in ("udp", "serial", "can")}
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    process = ctx.Process(target=generator, args=(there,), daemon=True)
    process.start()
    (serial_ours, serial_naive, serial_floor), generator_priority = here.recv()
    floor_here, floor_there = ctx.Pipe()
    floor = ctx.Process(target=floor_reader, args=(serial_floor, floor_there), daemon=True)
    floor.start()
    floor_priority = floor_here.recv()
    can_channel = f"bench-{uuid.uuid4().hex[:8]}"

    def sent_in_text(capture: Capture) -> int:
        return int(capture.raw)

    def sent_in_frame(capture: Capture) -> int:
        return int(struct.unpack("<Q", capture.raw)[0])

    udp = NetworkSource(
        NetworkSettings(name="udp", protocol="udp", listen="127.0.0.1:0", format=LineFormat.RAW),
        sink_into(ours["udp"], sent_in_text),
        clock,
    )
    serial = SerialSource(
        SerialSettings(
            name="serial",
            port=serial_ours,
            format=LineFormat.RAW,
            realtime_priority=args.serial_realtime_priority,
        ),
        sink_into(ours["serial"], sent_in_text),
        clock,
    )
    can_source = CanSource(
        CanSettings(name="can", interface="virtual", channel=can_channel),
        sink_into(ours["can"], sent_in_frame),
        clock,
    )
    sources = [udp, serial, can_source]
    for source in sources:
        source.start()
    if args.switch_interval_us is not None:
        sys.setswitchinterval(args.switch_interval_us / 1e6)
    conditions = (
        f"GIL switch interval {sys.getswitchinterval() * 1e6:.0f} us; generator priority "
        f"{generator_priority}, floor reader {floor_priority}, serial capture "
        f"{f'SCHED_FIFO {serial.realtime_priority}' if serial.realtime_priority else 'normal'}; "
        f"load average before {os.getloadavg()[0]:.2f}"
    )

    baseline = NaiveBaseline(naive)
    udp_naive = await baseline.start(serial_naive, can_channel)
    stop = asyncio.Event()
    busy = asyncio.create_task(
        busy_loop(args.stall_ms / 1e3, args.every_ms / 1e3, args.stall == "spin", stop)
    )
    await asyncio.sleep(0.2)

    here.send((udp.bound_address, udp_naive, args.count, args.rate))
    can_thread = threading.Thread(target=can_sender, args=(can_channel, args.count, args.rate))
    can_thread.start()
    while not here.poll():
        await asyncio.sleep(0.05)
    here.recv()
    await asyncio.to_thread(can_thread.join)
    await asyncio.sleep(0.2)

    stop.set()
    await busy
    baseline.stop()
    for source in sources:
        source.stop()
    here.send("bye")
    process.join(5)
    floor_here.send("stop")
    floor_series = Series(floor_here.recv())
    floor.join(5)
    conditions += f", after {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)"
    return {name: (ours[name], naive[name]) for name in ours}, floor_series, conditions


def stats_us(series: Series) -> tuple[int, float, float, float]:
    values = np.asarray(series.errors_ns[WARMUP:], dtype=np.int64) / 1e3
    if values.size == 0:
        return 0, float("nan"), float("nan"), float("nan")
    return (
        int(values.size),
        float(np.percentile(values, 50)),
        float(np.percentile(values, 99)),
        float(values.max()),
    )


def row(label: str, stamp: str, series: Series, ratio: str = "") -> tuple[float, float]:
    """Print one line of the table; return (p50, p99) in us."""
    n, p50, p99, worst = stats_us(series)
    print(f"{label:<8}{stamp:<38}{n:>6}{p50:>10.1f}{p99:>10.1f}{worst:>10.1f}{ratio:>22}")
    return p50, p99


def report(
    results: dict[str, tuple[Series, Series]],
    floor: Series,
    conditions: str,
    args: argparse.Namespace,
) -> bool:
    stamp_kind = {
        "udp": "kernel SO_TIMESTAMPNS",
        "serial": "first byte, capture process",
        "can": "virtual bus send stamp",
    }
    print(
        f"stamp minus send time, {args.count} signals per source at {args.rate:g} Hz, first "
        f"{WARMUP} dropped; event loop held {args.stall_ms:g} ms of every {args.every_ms:g} ms "
        f"({args.stall})"
    )
    print(conditions)
    print(
        f"{'source':<8}{'stamp':<38}{'n':>6}{'p50 us':>10}{'p99 us':>10}{'max us':>10}"
        f"{'baseline p99 / ours':>22}"
    )
    p99: dict[str, tuple[float, float]] = {}
    for name, (ours, naive) in results.items():
        ours_p99 = stats_us(ours)[2]
        naive_p99 = stats_us(naive)[2]
        p99[name] = (ours_p99, naive_p99)
        row(name, f"ours: {stamp_kind[name]}", ours, f"{naive_p99 / ours_p99:.1f}x")
        row("", "baseline: after an asyncio read", naive)
        if name == "serial":
            row("", "floor: pty read in an idle process", floor)
    udp, udp_naive = p99["udp"]
    checks = [
        (f"UDP p99 <= {GOAL_UDP_P99_US:g} us", udp <= GOAL_UDP_P99_US),
        (f"UDP p99 >= {GOAL_UDP_RATIO:g}x better than baseline", udp_naive / udp >= GOAL_UDP_RATIO),
        (f"serial p99 <= {GOAL_SERIAL_P99_US:g} us", p99["serial"][0] <= GOAL_SERIAL_P99_US),
    ]
    for goal, met in checks:
        print(f"goal {goal}: {'met' if met else 'MISSED'}")
    return all(met for _, met in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="signals per source")
    parser.add_argument("--rate", type=float, default=100.0, help="signals per second per source")
    parser.add_argument(
        "--stall-ms",
        type=float,
        default=2.0,
        help="how long the busy task holds the event loop each time (0: no load)",
    )
    parser.add_argument(
        "--stall",
        choices=("spin", "sleep"),
        default="spin",
        help="spin: the hold also holds the GIL; sleep: it releases the GIL",
    )
    parser.add_argument(
        "--every-ms",
        type=float,
        default=4.0,
        help="the busy task holds the loop once every this many ms",
    )
    parser.add_argument(
        "--serial-realtime-priority",
        type=int,
        default=None,
        help="SCHED_FIFO priority of the serial capture process (the channel's opt-in setting)",
    )
    parser.add_argument(
        "--switch-interval-us",
        type=float,
        default=None,
        help="override the GIL switch interval after the sources start "
        "(5000 is CPython's default; default: what the sources set)",
    )
    parser.add_argument(
        "--kernel",
        action="store_true",
        help="GPIO (gpio-sim) and CAN (vcan) stamps on a real kernel; root, see kernel_stamps.py",
    )
    parser.add_argument(
        "--can-channel", default="vcan0", help="--kernel: the vcan interface to use (up)"
    )
    args = parser.parse_args()
    if args.kernel:
        from kernel_stamps import run_kernel

        return run_kernel(args)
    if args.every_ms < args.stall_ms:
        parser.error("--every-ms must be at least --stall-ms")
    if args.count <= WARMUP:
        parser.error(f"--count must be above {WARMUP}")
    results, floor, conditions = asyncio.run(run(args))
    return 0 if report(results, floor, conditions, args) else 1


if __name__ == "__main__":
    sys.exit(main())
