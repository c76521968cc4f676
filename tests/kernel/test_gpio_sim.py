"""The gpio source's libgpiod v2 backend on a gpio-sim chip of a real kernel.

Edges are driven by pulling the simulated line up or down through sysfs, which the kernel turns
into real edge interrupts on the chip: stamps, sequence numbers, debounce, bias and buffer
overflow all come from the kernel's GPIO character device.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from protocol import Clock
from rig_agent.clock import RigClock
from rig_agent.sources.gpio import GpioSettings, GpioSource
from tests.integration.rig_agent.sources.conftest import StallingSink
from tests.kernel.conftest import SimChip


def gpiod_source(
    sink: Any, clock: RigClock, chip: SimChip, chip_label: bool = False, **settings: Any
) -> GpioSource:
    settings.setdefault("line", "vru0")
    where = chip.label if chip_label else chip.chip
    return GpioSource(
        GpioSettings(name="edge", backend="gpiod", chip=where, **settings), sink, clock
    )


def settle(seconds: float = 0.3) -> None:
    time.sleep(seconds)


def test_both_edges_carry_kernel_monotonic_stamps_and_sequence_numbers(
    gpio_sim: Callable[..., SimChip], sink: Any, clock: RigClock
) -> None:
    chip = gpio_sim()
    with gpiod_source(sink, clock, chip, edge="both") as source:
        before = clock.now_ns()
        chip.drive(0, 1)
        sink.wait_for(1)
        chip.drive(0, 0)
        rising, falling = sink.wait_for(2)
    assert (rising.decoded, falling.decoded) == (
        {"edge": "rising", "line_seqno": 1, "global_seqno": 1},
        {"edge": "falling", "line_seqno": 2, "global_seqno": 2},
    )
    assert rising.clock is Clock.KERNEL_MONOTONIC
    assert before <= rising.t_mono_ns <= sink.received_ns[0], "stamped by the kernel at the edge"
    assert rising.t_mono_ns < falling.t_mono_ns <= sink.received_ns[1]
    assert source.drops == 0


@pytest.mark.parametrize(("edge", "expected"), [("rising", "rising"), ("falling", "falling")])
def test_only_the_asked_edge_is_captured(
    gpio_sim: Callable[..., SimChip], sink: Any, clock: RigClock, edge: str, expected: str
) -> None:
    chip = gpio_sim()
    with gpiod_source(sink, clock, chip, line="vru1", edge=edge) as source:
        for pulse in range(1, 4):
            chip.drive(1, 1)
            if edge == "rising":
                sink.wait_for(pulse)
            else:
                settle(0.05)
            chip.drive(1, 0)
            if edge == "falling":
                sink.wait_for(pulse)
            else:
                settle(0.05)
        settle()
    assert [c.decoded["edge"] for c in sink.captures] == [expected] * 3
    assert source.count == 3 and source.drops == 0


def test_line_is_found_by_its_name_and_bias_is_applied(
    gpio_sim: Callable[..., SimChip], sink: Any, clock: RigClock
) -> None:
    chip = gpio_sim()
    assert chip.value(2) == 0, "gpio-sim lines start pulled down"
    with gpiod_source(sink, clock, chip, line="vru2", edge="both", pull="up"):
        settle(0.1)
        assert chip.value(2) == 1, "the requested pull-up holds the line high"
    with gpiod_source(sink, clock, chip, line="vru2", edge="both", pull="down"):
        settle(0.1)
        assert chip.value(2) == 0


def test_debounce_keeps_one_edge_of_a_bouncing_contact(
    gpio_sim: Callable[..., SimChip], sink: Any, clock: RigClock
) -> None:
    chip = gpio_sim()
    with gpiod_source(sink, clock, chip, edge="both", debounce_ms=300) as source:
        for level in (1, 0, 1, 0, 1):  # a contact bouncing for a few milliseconds
            chip.drive(0, level)
        [capture] = sink.wait_for(1)
        settle(0.6)
    assert len(sink.captures) == 1, [c.decoded for c in sink.captures]
    assert capture.decoded["edge"] == "rising"
    assert source.drops == 0


def test_edges_lost_to_a_full_kernel_buffer_are_counted_from_sequence_numbers(
    gpio_sim: Callable[..., SimChip], stalling_sink: StallingSink, clock: RigClock
) -> None:
    chip = gpio_sim()
    with gpiod_source(stalling_sink, clock, chip, edge="both") as source:
        chip.drive(0, 1)
        assert stalling_sink.stalled.wait(2)
        for pulse in range(100):  # the kernel keeps 16 events per line while the reader waits
            chip.drive(0, pulse % 2)
            settle(0.002)  # paced, so the simulator raises each change as its own edge
        stalling_sink.release()
        settle(1.0)
        seqnos = [c.decoded["line_seqno"] for c in stalling_sink.captures]
    assert source.drops > 0, "the burst overflowed the kernel's event buffer"
    assert seqnos == sorted(seqnos) and len(seqnos) == source.count
    assert source.count + source.drops == seqnos[-1], (
        "every event the kernel numbered is delivered or counted"
    )


def test_chip_removal_is_reported_and_capture_resumes_when_it_returns(
    gpio_sim: Callable[..., SimChip], sink: Any, clock: RigClock
) -> None:
    chip = gpio_sim()
    with gpiod_source(sink, clock, chip, edge="rising", chip_label=True) as source:
        chip.drive(0, 1)
        sink.wait_for(1)
        chip.set_live(False)
        deadline = time.monotonic() + 5
        while source.last_error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert source.last_error is not None and "reading failed" in source.last_error
        assert source.running
        chip.set_live(True)  # possibly as another /dev/gpiochipN: the label finds it
        chip.drive(0, 0)
        deadline = time.monotonic() + 10
        while source.last_error is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        chip.drive(0, 1)
        second = sink.wait_for(2, timeout_s=5)[1]
    assert source.last_error is None, "the line was requested again"
    assert second.decoded["line_seqno"] == 1, "a new request numbers from 1 again"
