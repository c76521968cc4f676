"""The CAN source on python-can's virtual bus, with the sender in the same process."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import can
import pytest

from protocol import Clock
from rig_agent.clock import RigClock
from rig_agent.sources.base import SourceUnavailable
from rig_agent.sources.can import CanSettings, CanSource

DBC = """VERSION ""

NS_ :

BS_:

BU_: SUT

BO_ 291 VruDetection: 8 SUT
 SG_ Class : 0|8@1+ (1,0) [0|255] "" Vector__XXX
 SG_ Confidence : 8|8@1+ (0.01,0) [0|1] "" Vector__XXX
 SG_ Frame : 16|16@1+ (1,0) [0|65535] "" Vector__XXX

VAL_ 291 Class 1 "PEDESTRIAN" 2 "CYCLIST" ;
"""


@pytest.fixture
def channel() -> str:
    """A virtual bus of the test's own, so tests never hear each other."""
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def sender(channel: str) -> Iterator[can.BusABC]:
    bus = can.Bus(interface="virtual", channel=channel)
    yield bus
    bus.shutdown()


def can_source(sink: Any, clock: RigClock, channel: str, **settings: Any) -> CanSource:
    return CanSource(
        CanSettings(name="bus", interface="virtual", channel=channel, **settings), sink, clock
    )


def frame(can_id: int, data: bytes) -> can.Message:
    return can.Message(arbitration_id=can_id, data=data, is_extended_id=False)


def test_dbc_frame_is_decoded_and_stamped_at_send(
    sink: Any, clock: RigClock, channel: str, sender: can.BusABC, tmp_path: Path
) -> None:
    dbc = tmp_path / "sut.dbc"
    dbc.write_text(DBC)
    mapping = {"vru_type": "Class", "confidence": "Confidence", "frame": "Frame"}
    with can_source(sink, clock, channel, dbc=dbc, message="VruDetection", signal_map=mapping):
        before = clock.now_ns()
        sender.send(frame(0x123, bytes([1, 95, 0x2A, 0, 0, 0, 0, 0])))
        sender.send(frame(0x124, bytes([2, 95, 0x2A, 0, 0, 0, 0, 0])))
        [capture] = sink.wait_for(1)
        time.sleep(0.05)
    assert len(sink.captures) == 1, "the DBC message's id filters the bus"
    assert capture.decoded == {
        "can_id": 0x123,
        "vru_type": "pedestrian",
        "confidence": pytest.approx(0.95),
        "frame": 42,
    }
    assert capture.raw == bytes([1, 95, 0x2A, 0, 0, 0, 0, 0]) and not capture.raw_is_text
    # The virtual bus stamps with time.time() at send: user space, then moved onto monotonic.
    assert capture.clock is Clock.USER_MONOTONIC
    slack_ns = 2_000  # float seconds of time.time() and the realtime offset: about a microsecond
    assert before - slack_ns <= capture.t_mono_ns <= sink.received_ns[0]


def test_id_filters_and_byte_layout(
    sink: Any, clock: RigClock, channel: str, sender: can.BusABC
) -> None:
    settings = {
        "filters": [{"id": 0x200, "mask": 0x7F0}],
        "layout": [
            {"name": "cls", "offset": 0, "type": "u8"},
            {"name": "conf", "offset": 1, "type": "u8", "scale": 0.01},
        ],
        "signal_map": {"vru_type": "cls", "confidence": "conf"},
        "vru_codes": {4: "scooter_rider"},
    }
    with can_source(sink, clock, channel, **settings) as source:
        sender.send(frame(0x300, bytes([4, 10])))
        sender.send(frame(0x20F, bytes([4, 10])))
        sender.send(frame(0x201, bytes([4])))
        first, second = sink.wait_for(2)
    assert first.decoded == {"can_id": 0x20F, "vru_type": "scooter_rider", "confidence": 0.1}
    assert second.decoded == {
        "can_id": 0x201,
        "decode_error": "field 'conf' needs bytes 1..1 but the frame has 1",
    }
    assert second.raw == bytes([4])
    assert (source.count, source.undecoded) == (2, 1)


def test_reader_restarts_when_the_bus_fails(
    sink: Any, clock: RigClock, channel: str, sender: can.BusABC
) -> None:
    with can_source(sink, clock, channel) as source:
        sender.send(frame(0x10, b"\x01"))
        sink.wait_for(1)
        source._bus.shutdown()  # the interface goes down under the reader
        deadline = time.monotonic() + 2
        while source.last_error is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert source.last_error is not None and "reading failed" in source.last_error
        while source.last_error is not None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert source.last_error is None, "the bus was reopened"
        sender.send(frame(0x11, b"\x02"))
        captures = sink.wait_for(2)
    assert captures[1].decoded == {"can_id": 0x11}


def test_unknown_interface_is_reported(sink: Any, clock: RigClock) -> None:
    source = CanSource(CanSettings(name="bus", interface="no-such-can", channel="x"), sink, clock)
    with pytest.raises(
        SourceUnavailable, match="CAN no-such-can channel 'x': interface not available here"
    ):
        source.probe()


def test_missing_socketcan_device_is_reported(sink: Any, clock: RigClock) -> None:
    source = CanSource(
        CanSettings(name="bus", interface="socketcan", channel="vcan-missing9"), sink, clock
    )
    with pytest.raises(SourceUnavailable, match="vcan-missing9"):
        source.start()
    assert not source.running


def test_missing_dbc_is_reported_before_the_bus_opens(
    sink: Any, clock: RigClock, channel: str, tmp_path: Path
) -> None:
    source = can_source(sink, clock, channel, dbc=tmp_path / "none.dbc")
    with pytest.raises(SourceUnavailable, match="none.dbc' does not exist"):
        source.probe()
