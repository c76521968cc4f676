"""The serial source against a pty pair and pyserial's loop:// port."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol import Clock
from rig_agent.clock import RigClock
from rig_agent.sources import serial as serial_module
from rig_agent.sources._serial_process import CaptureProcess
from rig_agent.sources.base import SourceUnavailable
from rig_agent.sources.serial import SerialSettings, SerialSource


@pytest.fixture
def pty() -> Iterator[tuple[int, str]]:
    """(master fd the test writes to, slave path the source opens)."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.close(slave)
    yield master, path
    try:
        os.close(master)
    except OSError:
        pass


def serial_source(sink: Any, clock: RigClock, **settings: Any) -> SerialSource:
    return SerialSource(SerialSettings(name="uart", **settings), sink, clock)


def test_pty_line_is_decoded_and_stamped_between_send_and_receive(
    pty: tuple[int, str], sink: Any, clock: RigClock
) -> None:
    master, path = pty
    with serial_source(sink, clock, port=path, format="json") as source:
        before = clock.now_ns()
        os.write(master, b'{"vru_type": "pedestrian", "bbox": [1, 2, 3, 4], "confidence": 0.9}\n')
        [capture] = sink.wait_for(1)
        assert before <= capture.t_mono_ns <= sink.received_ns[0]
        assert capture.clock is Clock.USER_MONOTONIC
        assert capture.channel == "uart"
        assert capture.decoded == {
            "vru_type": "pedestrian",
            "bbox": [1.0, 2.0, 3.0, 4.0],
            "confidence": 0.9,
        }
        assert capture.raw.startswith(b'{"vru_type"') and capture.raw_is_text
        assert abs(capture.t_wall_ns - clock.mono_to_wall(capture.t_mono_ns)) < 1_000_000
        assert source.latency_timer_ms is None, "a pty is not a USB-serial adapter"
        assert source.isolated, "a device path is read by a capture process of its own"
        assert source.realtime_priority == 0, "real-time priority is opt-in"


def test_line_is_stamped_when_its_first_byte_arrived(
    pty: tuple[int, str], sink: Any, clock: RigClock
) -> None:
    master, path = pty
    with serial_source(sink, clock, port=path, format="csv", columns=["frame", "vru_type"]):
        first_byte_sent = clock.now_ns()
        os.write(master, b"7,pedestrian\n42,cyc")
        sink.wait_for(1)  # the chunk with the second line's first bytes has been read
        rest_sent = clock.now_ns()
        os.write(master, b"list\r\n")
        first, second = sink.wait_for(2)
    assert first_byte_sent <= first.t_mono_ns <= second.t_mono_ns < rest_sent
    assert second.decoded == {"frame": 42, "vru_type": "cyclist"}


def test_undecodable_line_is_delivered_with_its_raw_text_and_counted(
    pty: tuple[int, str], sink: Any, clock: RigClock
) -> None:
    master, path = pty
    with serial_source(
        sink, clock, port=path, format="regex", pattern=r"^DET (?P<vru_type>\w+)$"
    ) as source:
        os.write(master, b"BOOT v1.2\nDET scooter_rider\n")
        boot, detection = sink.wait_for(2)
    assert boot.raw == b"BOOT v1.2"
    assert boot.decoded == {"decode_error": "line does not match the pattern"}
    assert detection.decoded == {"vru_type": "scooter_rider"}
    assert (source.count, source.undecoded, source.drops) == (2, 1, 0)


def test_partial_line_is_delivered_on_stop_not_lost(
    pty: tuple[int, str], sink: Any, clock: RigClock
) -> None:
    master, path = pty
    source = serial_source(sink, clock, port=path, format="raw")
    source.start()
    os.write(master, b"no newline yet")
    time.sleep(0.1)
    assert sink.captures == []
    source.stop()
    [capture] = sink.wait_for(1)
    assert capture.raw == b"no newline yet"


def test_loop_url_port_works(sink: Any, clock: RigClock) -> None:
    with serial_source(sink, clock, port="loop://", baudrate=9600, format="json") as source:
        assert not source.isolated, "a loop:// port lives in this process"
        assert source.port is not None
        before = clock.now_ns()
        source.port.write(b'{"frame": 7, "lane": "left"}\n')
        [capture] = sink.wait_for(1)
    assert before <= capture.t_mono_ns <= sink.received_ns[0]
    assert capture.decoded == {"frame": 7, "lane": "left"}


def test_missing_device_is_reported_clearly(sink: Any, clock: RigClock) -> None:
    source = serial_source(sink, clock, port="/dev/ttyUSB-does-not-exist")
    with pytest.raises(SourceUnavailable, match="no such device: is the adapter plugged in"):
        source.probe()
    with pytest.raises(
        SourceUnavailable,
        match="'/dev/ttyUSB-does-not-exist' cannot be opened: no such device",
    ):
        source.start()  # the capture process tells why, errno included
    assert not source.running


def test_capture_process_ends_when_the_agent_goes_away(pty: tuple[int, str]) -> None:
    """An agent that dies closes the child's stdin; the child must not keep the port."""
    _, path = pty
    capture = CaptureProcess(path, 115200)
    capture.start()
    process = capture._process
    assert process is not None and process.stdin is not None
    process.stdin.close()
    assert process.wait(2.0) == 0
    capture.stop()


def test_port_held_by_another_channel_is_reported(
    pty: tuple[int, str], sink: Any, clock: RigClock
) -> None:
    _, path = pty
    with (
        serial_source(sink, clock, port=path),
        pytest.raises(SourceUnavailable, match="locked by another program|busy"),
    ):
        serial_source(sink, clock, port=path).probe()


def test_probe_describes_a_usable_port(pty: tuple[int, str], sink: Any, clock: RigClock) -> None:
    _, path = pty
    assert serial_source(sink, clock, port=path, baudrate=57600).probe() == (
        f"serial channel 'uart': {path} at 57600 baud"
    )


def test_reader_survives_the_device_going_away(
    pty: tuple[int, str], sink: Any, clock: RigClock
) -> None:
    master, path = pty
    with serial_source(sink, clock, port=path, format="raw") as source:
        os.write(master, b"before\n")
        sink.wait_for(1)
        os.close(master)
        deadline = time.monotonic() + 2
        while source.last_error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert source.last_error is not None and "reading failed" in source.last_error
        assert source.running


def test_usb_adapter_latency_timer_is_recorded_and_warned_about(
    pty: tuple[int, str],
    sink: Any,
    clock: RigClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The pty plays a USB-serial adapter: sysfs (faked) lists it with a 16 ms latency timer."""
    master, path = pty
    sysfs = tmp_path / "usb-serial"
    (sysfs / os.path.basename(path)).mkdir(parents=True)
    (sysfs / os.path.basename(path) / "latency_timer").write_text("16\n")
    monkeypatch.setattr(serial_module, "USB_SERIAL_SYSFS", sysfs)
    with caplog.at_level(logging.WARNING), serial_source(sink, clock, port=path) as source:
        os.write(master, b'{"frame": 1}\n')
        sink.wait_for(1)
    assert source.latency_timer_ms == 16
    assert "USB-serial latency timer" in caplog.text and "16 ms" in caplog.text
    assert serial_source(sink, clock, port=path).probe().endswith(", USB latency timer 16 ms")


def test_capture_process_takes_realtime_priority_when_allowed(
    pty: tuple[int, str], sink: Any, clock: RigClock, caplog: pytest.LogCaptureFixture
) -> None:
    master, path = pty
    with (
        caplog.at_level(logging.WARNING),
        serial_source(sink, clock, port=path, format="raw", realtime_priority=10) as source,
    ):
        before = clock.now_ns()
        os.write(master, b"rt\n")
        [capture] = sink.wait_for(1)
    assert before <= capture.t_mono_ns <= sink.received_ns[0]
    assert source.realtime_priority in (0, 10)
    if source.realtime_priority == 0:
        assert "real-time priority 10 was refused" in caplog.text


def test_capture_process_outlives_a_group_sigterm_until_the_agent_stops(
    pty: tuple[int, str], sink: Any, clock: RigClock
) -> None:
    """systemd's stop signals the whole group; capture must go on until the agent has stopped."""
    master, path = pty
    with serial_source(sink, clock, port=path, format="raw") as source:
        process = source._capture._process  # type: ignore[union-attr]
        assert process is not None
        process.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        os.write(master, b"after sigterm\n")
        [capture] = sink.wait_for(1)
    assert capture.raw == b"after sigterm"
    assert process.poll() is not None, "stop ended the capture process"
