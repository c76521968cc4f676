"""The can source on a vcan interface of a real kernel, through python-can's socketcan interface.

The sender is a raw CAN socket of its own on the same interface; vcan hands each frame to every
receiving socket at once, so the kernel's receive stamp is the instant of the send.
"""

from __future__ import annotations

import errno
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import can
import pytest

from protocol import Clock
from rig_agent.clock import RigClock
from rig_agent.sources.can import CanFilter, CanSettings, CanSource
from tests.integration.rig_agent.sources.conftest import StallingSink
from tests.integration.rig_agent.sources.test_can_source import DBC

_LOOSE_STAMP_ERROR_NS = 50_000_000
"""Under software emulation a send and its receive stamp can be far apart; a wrong clock or a
float-seconds round trip would be off by hours or microseconds respectively, not this."""


@pytest.fixture
def sender(vcan: str) -> Iterator[can.BusABC]:
    bus = can.Bus(interface="socketcan", channel=vcan)
    yield bus
    bus.shutdown()


def can_source(sink: Any, clock: RigClock, vcan: str, **settings: Any) -> CanSource:
    return CanSource(
        CanSettings(name="bus", interface="socketcan", channel=vcan, **settings), sink, clock
    )


def send(bus: can.BusABC, can_id: int, data: bytes) -> None:
    """Send, waiting out a full transmit queue (ENOBUFS) as a real sender would."""
    message = can.Message(arbitration_id=can_id, data=data, is_extended_id=False)
    for _ in range(1000):
        try:
            bus.send(message)
            return
        except can.CanOperationError as exc:
            if exc.error_code != errno.ENOBUFS:
                raise
            time.sleep(0.001)
    raise AssertionError("the transmit queue stayed full")


def test_frames_carry_the_kernel_receive_stamp_in_integer_nanoseconds(
    sink: Any, clock: RigClock, vcan: str, sender: can.BusABC
) -> None:
    with can_source(sink, clock, vcan) as source:
        before = clock.now_ns()
        send(sender, 0x42, b"\x01\x02")
        after = clock.now_ns()
        [capture] = sink.wait_for(1)
    assert capture.clock is Clock.KERNEL_REALTIME
    assert capture.raw == b"\x01\x02" and capture.decoded == {"can_id": 0x42}
    assert before - _LOOSE_STAMP_ERROR_NS <= capture.t_mono_ns <= after + _LOOSE_STAMP_ERROR_NS
    assert capture.t_mono_ns <= sink.received_ns[0] + _LOOSE_STAMP_ERROR_NS
    assert source.drops == 0


def test_dbc_decoding_and_the_dbc_message_as_kernel_filter(
    sink: Any, clock: RigClock, vcan: str, sender: can.BusABC, tmp_path: Path
) -> None:
    dbc = tmp_path / "sut.dbc"
    dbc.write_text(DBC)
    mapping = {"vru_type": "Class", "confidence": "Confidence", "frame": "Frame"}
    with can_source(
        sink, clock, vcan, dbc=dbc, message="VruDetection", signal_map=mapping
    ) as source:
        send(sender, 0x100, b"\x00")  # not the DBC message: the kernel filter keeps it out
        send(sender, 291, bytes([2, 87, 0x10, 0x01, 0, 0, 0, 0]))
        [capture] = sink.wait_for(1)
        time.sleep(0.2)
    assert len(sink.captures) == 1
    assert capture.decoded == {
        "can_id": 291,
        "vru_type": "cyclist",
        "confidence": 0.87,
        "frame": 0x0110,
    }
    assert source.count == 1


def test_configured_filters_pass_only_matching_ids(
    sink: Any, clock: RigClock, vcan: str, sender: can.BusABC
) -> None:
    filters = (CanFilter(id=0x120, mask=0x7F0),)
    with can_source(sink, clock, vcan, filters=filters):
        for can_id in (0x11F, 0x120, 0x12F, 0x130):
            send(sender, can_id, b"\x00")
        sink.wait_for(2)
        time.sleep(0.2)
    assert [c.decoded["can_id"] for c in sink.captures] == [0x120, 0x12F]


def test_interface_down_and_up_again_does_not_stop_capture(
    sink: Any, clock: RigClock, vcan: str, sender: can.BusABC
) -> None:
    with can_source(sink, clock, vcan) as source:
        send(sender, 0x1, b"\x01")
        sink.wait_for(1)
        subprocess.run(["ip", "link", "set", vcan, "down"], check=True)
        with pytest.raises(can.CanOperationError):
            send(sender, 0x2, b"\x02")  # a bus that is down takes nothing
        time.sleep(0.3)
        subprocess.run(["ip", "link", "set", vcan, "up"], check=True)
        send(sender, 0x3, b"\x03")
        captures = sink.wait_for(2, timeout_s=5)
        assert source.running
    assert [c.raw for c in captures] == [b"\x01", b"\x03"]


def test_frames_dropped_on_a_full_receive_queue_are_counted(
    stalling_sink: StallingSink, clock: RigClock, vcan: str, sender: can.BusABC
) -> None:
    burst = 3000  # more than a raw socket's default receive buffer holds
    with can_source(stalling_sink, clock, vcan) as source:
        send(sender, 0x10, b"\x00")
        assert stalling_sink.stalled.wait(2)
        for n in range(burst):
            send(sender, 0x11, n.to_bytes(2, "little"))
        stalling_sink.release()
        sent = 1 + burst
        deadline = time.monotonic() + 10
        while source.count + source.drops < sent and time.monotonic() < deadline:
            send(sender, 0x12, b"\xff")  # the next frame carries the count of the drops
            sent += 1
            time.sleep(0.02)
        time.sleep(0.1)
    assert source.drops > 0, "the burst overflowed the socket's receive queue"
    assert source.count + source.drops == sent, "every frame is delivered or counted"
