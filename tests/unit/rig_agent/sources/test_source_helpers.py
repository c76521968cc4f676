"""Small pieces of the hardware sources: drop counting, kernel stamps, USB latency, supervision."""

from __future__ import annotations

import logging
import socket
import struct
import threading
from pathlib import Path

import pytest

from protocol import Clock
from rig_agent.clock import RigClock
from rig_agent.sources._overflow import SO_RXQ_OVFL, OverflowCounter
from rig_agent.sources._reader import SupervisedReader
from rig_agent.sources._serial_process import overrun_total
from rig_agent.sources._stamps import SO_TIMESTAMPNS, kernel_receive_ns
from rig_agent.sources.gpio import GpioSettings, GpioSource, SequenceGaps, lgpio_tick_stamp
from rig_agent.sources.serial import usb_latency_timer_ms


def test_sequence_gaps_count_the_edges_the_kernel_dropped() -> None:
    gaps = SequenceGaps()
    assert [gaps.observe(n) for n in (1, 2, 5, 6, 10)] == [0, 0, 2, 0, 3]


def test_sequence_gaps_count_drops_before_the_first_event_seen() -> None:
    assert SequenceGaps().observe(4) == 3


def _overflow_message(total: int) -> list[tuple[int, int, bytes]]:
    stamp = (socket.SOL_SOCKET, SO_TIMESTAMPNS, struct.pack("@ll", 1, 2))
    return [stamp, (socket.SOL_SOCKET, SO_RXQ_OVFL, struct.pack("@I", total))]


def test_overflow_counter_turns_the_kernel_total_into_new_drops() -> None:
    counter = OverflowCounter()
    assert counter.observe([]) == 0, "no count before the first drop"
    assert counter.observe(_overflow_message(7)) == 7
    assert counter.observe(_overflow_message(7)) == 0, "later messages repeat the total"
    assert counter.observe(_overflow_message(12)) == 5


def test_overflow_counter_survives_the_32_bit_total_wrapping() -> None:
    counter = OverflowCounter()
    counter.observe(_overflow_message(2**32 - 3))
    assert counter.observe(_overflow_message(4)) == 7


def test_serial_overruns_are_the_uart_and_tty_buffer_counters() -> None:
    # cts dsr rng dcd rx tx frame overrun parity brk buf_overrun, then 9 reserved
    icount = struct.pack("@20i", 1, 2, 3, 4, 5000, 6, 7, 8, 9, 10, 11, *([99] * 9))
    assert overrun_total(icount) == 8 + 11


def test_kernel_receive_stamp_is_read_from_ancillary_data() -> None:
    timespec = struct.pack("@ll", 1_700_000_000, 123_456_789)
    ancillary = [(socket.SOL_SOCKET, SO_TIMESTAMPNS, timespec)]
    assert kernel_receive_ns(ancillary) == 1_700_000_000_123_456_789
    assert kernel_receive_ns([]) is None
    assert kernel_receive_ns([(socket.IPPROTO_IP, 1, timespec)]) is None


def test_usb_latency_timer_is_read_for_usb_serial_adapters(tmp_path: Path) -> None:
    (tmp_path / "ttyUSB3").mkdir()
    (tmp_path / "ttyUSB3" / "latency_timer").write_text("16\n")
    assert usb_latency_timer_ms("/dev/ttyUSB3", sysfs=tmp_path) == 16
    assert usb_latency_timer_ms("/dev/ttyACM0", sysfs=tmp_path) is None
    assert usb_latency_timer_ms("loop://", sysfs=tmp_path) is None


def test_usb_latency_timer_follows_a_symlinked_port(tmp_path: Path) -> None:
    sysfs = tmp_path / "sysfs"
    (sysfs / "ttyUSB0").mkdir(parents=True)
    (sysfs / "ttyUSB0" / "latency_timer").write_text("1")
    device = tmp_path / "ttyUSB0"
    device.touch()
    link = tmp_path / "sut-serial"
    link.symlink_to(device)
    assert usb_latency_timer_ms(str(link), sysfs=sysfs) == 1


def test_a_failing_reader_is_reported_reopened_and_keeps_reading(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = GpioSource(GpioSettings(name="sup", pin=1), lambda capture: None, RigClock())
    reads: list[int] = []
    reopened = threading.Event()
    recovered = threading.Event()

    def read_once() -> None:
        reads.append(1)
        if len(reads) == 2:
            raise OSError("device went away")
        if reopened.is_set() and len(reads) > 3:
            recovered.set()
        threading.Event().wait(0.001)

    reader = SupervisedReader(source, read_once, reopen=reopened.set)
    with caplog.at_level(logging.ERROR):
        reader.start()
        assert recovered.wait(2.0)
        reader.stop()
    assert not reader.alive
    assert reader.failures == 1
    assert source.last_error is None, "cleared once reading works again"
    assert "reading failed (OSError: device went away); retrying" in caplog.text


def test_lgpio_ticks_on_the_monotonic_clock_are_kernel_monotonic_stamps() -> None:
    clock = RigClock()
    edge_ns = clock.now_ns() - 1_500_000
    stamp = lgpio_tick_stamp(clock, edge_ns / 1e9)
    assert stamp.clock is Clock.KERNEL_MONOTONIC
    assert abs(stamp.mono_ns - edge_ns) < 1_000, "float seconds keep sub-microsecond resolution"


def test_lgpio_ticks_from_old_kernels_on_realtime_are_moved_onto_monotonic() -> None:
    clock = RigClock()
    edge_wall_ns = clock.wall_ns() - 1_500_000
    stamp = lgpio_tick_stamp(clock, edge_wall_ns / 1e9)
    assert stamp.clock is Clock.KERNEL_REALTIME
    expected_mono = clock.realtime_to_mono(edge_wall_ns)
    assert abs(stamp.mono_ns - expected_mono) < 1_000
