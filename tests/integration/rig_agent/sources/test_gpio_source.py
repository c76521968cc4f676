"""The GPIO source: gpiozero's MockFactory pins driven by the test, and the gpiod backend's refusals.

libgpiod on a gpio-sim chip needs a kernel this machine does not have: those tests are in
``tests/kernel/`` and run in the kernel lane's VM.
"""

from __future__ import annotations

import gc
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from protocol import Clock
from rig_agent.clock import RigClock
from rig_agent.sources.base import SourceUnavailable
from rig_agent.sources.gpio import GpioSettings, GpioSource

GPIO_SIM = Path("/sys/kernel/config/gpio-sim")


def mock_source(sink: Any, clock: RigClock, **settings: Any) -> GpioSource:
    return GpioSource(GpioSettings(name="edge", pin_factory="mock", **settings), sink, clock)


def test_rising_edges_are_captured_and_stamped(sink: Any, clock: RigClock) -> None:
    with mock_source(sink, clock, pin=17, edge="rising", pull="down") as source:
        before = clock.now_ns()
        source.pin.drive_high()
        source.pin.drive_low()
        source.pin.drive_high()
        captures = sink.wait_for(2)
        time.sleep(0.01)
    assert len(sink.captures) == 2, "falling edges are not asked for"
    assert [c.decoded for c in captures] == [{"edge": "rising"}, {"edge": "rising"}]
    assert all(c.raw == b"rising" and c.raw_is_text for c in captures)
    # MockFactory gives no kernel stamp: the callback stamps in user space and says so.
    assert all(c.clock is Clock.USER_MONOTONIC for c in captures)
    assert before <= captures[0].t_mono_ns < captures[1].t_mono_ns <= sink.received_ns[1]
    assert source.count == 2


def test_both_edges_with_pull_up(sink: Any, clock: RigClock) -> None:
    with mock_source(sink, clock, pin="GPIO22", edge="both", pull="up") as source:
        assert source.pin.state == 1, "the pull-up holds the line high"
        source.pin.drive_low()
        source.pin.drive_high()
        falling, rising = sink.wait_for(2)
    assert (falling.decoded["edge"], rising.decoded["edge"]) == ("falling", "rising")


def test_edge_callback_survives_garbage_collection(sink: Any, clock: RigClock) -> None:
    """gpiozero holds pin callbacks weakly; the source must keep its own alive."""
    with mock_source(sink, clock, pin=5, edge="falling", pull="up") as source:
        gc.collect()
        source.pin.drive_low()
        [capture] = sink.wait_for(1)
    assert capture.decoded == {"edge": "falling"}


def test_stop_releases_the_pin_and_stops_delivering(sink: Any, clock: RigClock) -> None:
    source = mock_source(sink, clock, pin=6, edge="both")
    source.start()
    pin = source.pin
    source.stop()
    assert source.pin is None and not source.running
    assert pin.when_changed is None


def test_invalid_pin_is_reported(sink: Any, clock: RigClock) -> None:
    source = mock_source(sink, clock, pin=99)
    with pytest.raises(
        SourceUnavailable, match="gpiozero pin 99 \\(mock pin factory\\) cannot be used"
    ):
        source.probe()
    assert not source.running


def test_unknown_pin_factory_is_reported(sink: Any, clock: RigClock) -> None:
    source = GpioSource(GpioSettings(name="edge", pin=17, pin_factory="nosuch"), sink, clock)
    with pytest.raises(SourceUnavailable, match="no pin factory 'nosuch' \\(known: .*mock"):
        source.start()


def test_probe_opens_and_releases(sink: Any, clock: RigClock) -> None:
    source = mock_source(sink, clock, pin=17)
    assert source.probe() == "gpio channel 'edge' opened"
    assert not source.running and source.pin is None


def test_gpiod_backend_without_the_module_says_how_to_install_it(
    sink: Any, clock: RigClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gpiod", None)  # import gpiod now raises ImportError
    source = GpioSource(GpioSettings(name="edge", backend="gpiod", line=3), sink, clock)
    with pytest.raises(
        SourceUnavailable,
        match=r"needs the libgpiod v2 Python bindings "
        r"\(gpiod>=2.2.1\)",
    ):
        source.start()


@pytest.mark.skipif(importlib.util.find_spec("gpiod") is None, reason="gpiod is not installed")
def test_gpiod_missing_chip_is_reported(sink: Any, clock: RigClock) -> None:
    source = GpioSource(
        GpioSettings(name="edge", backend="gpiod", chip="/dev/gpiochip-none", line=3), sink, clock
    )
    with pytest.raises(SourceUnavailable, match="GPIO chip /dev/gpiochip-none does not exist"):
        source.start()


@pytest.mark.skipif(importlib.util.find_spec("gpiod") is None, reason="gpiod is not installed")
def test_gpiod_chip_label_that_no_chip_has_is_reported(sink: Any, clock: RigClock) -> None:
    source = GpioSource(
        GpioSettings(name="edge", backend="gpiod", chip="no-such-label", line=3), sink, clock
    )
    with pytest.raises(SourceUnavailable, match="no GPIO chip is labelled 'no-such-label'"):
        source.start()
