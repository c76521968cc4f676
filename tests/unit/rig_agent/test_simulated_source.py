"""The simulated source plays its script on the rig clock, including stimulus and sync channels."""

from __future__ import annotations

import queue
import time

import pytest
from pydantic import ValidationError

from protocol import Clock
from rig_agent.clock import RigClock
from rig_agent.sources import Capture
from rig_agent.sources.simulated import SimulatedSettings, SimulatedSource


def play(settings: SimulatedSettings, timeout: float = 3.0) -> list[Capture]:
    out: queue.SimpleQueue[Capture] = queue.SimpleQueue()
    source = SimulatedSource(settings, out.put, RigClock())
    with source:
        deadline = time.monotonic() + timeout
        while not source.finished and time.monotonic() < deadline:
            time.sleep(0.005)
    assert source.finished, "the script did not end"
    captures = []
    while not out.empty():
        captures.append(out.get())
    return captures


def test_script_emits_stimulus_then_late_detection_and_sync_first() -> None:
    settings = SimulatedSettings(
        name="det",
        source="simulated",
        sync_channel="sync",
        stimulus_channel="marker",
        steps=[
            {
                "at_ms": 10,
                "latency_ms": 30,
                "vru_type": "cyclist",
                "bbox": [1, 2, 3, 4],
                "confidence": 0.5,
                "frame": 3,
            },
            {"at_ms": 20, "detect": False},
        ],
    )
    captures = play(settings)
    assert [c.channel for c in captures] == ["sync", "marker", "marker", "det"]
    sync, stimulus, _, detection = captures
    # Stamped at the scheduled instants: the script's timing survives a late wake-up.
    assert detection.t_mono_ns - stimulus.t_mono_ns == 30_000_000
    assert stimulus.t_mono_ns - sync.t_mono_ns == 10_000_000
    assert detection.decoded == {
        "vru_type": "cyclist",
        "bbox": [1, 2, 3, 4],
        "confidence": 0.5,
        "frame": 3,
    }
    assert detection.raw_is_text and b'"cyclist"' in detection.raw
    assert all(c.clock is Clock.USER_MONOTONIC for c in captures)


def test_script_repeats_every_period() -> None:
    settings = SimulatedSettings(
        name="det", source="simulated", repeat=3, period_ms=20, steps=[{"at_ms": 0, "raw": "hit"}]
    )
    captures = play(settings)
    assert [c.raw for c in captures] == [b"hit"] * 3
    assert captures[2].t_mono_ns - captures[0].t_mono_ns == 40_000_000


def test_rate_mode_emits_count_signals_in_order() -> None:
    captures = play(SimulatedSettings(name="det", source="simulated", rate_hz=50_000, count=2_000))
    assert [c.raw for c in captures] == [str(i).encode() for i in range(2_000)]
    stamps = [c.t_mono_ns for c in captures]
    assert stamps == sorted(stamps)


def test_stop_interrupts_an_endless_script() -> None:
    source = SimulatedSource(
        SimulatedSettings(name="det", source="simulated", rate_hz=10), lambda c: None, RigClock()
    )
    source.start()
    started = time.monotonic()
    source.stop()
    assert time.monotonic() - started < 1 and not source.running


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rate_hz": 10, "steps": [{"at_ms": 0}]}, "either steps or rate_hz"),
        ({"count": 5}, "count and template go with rate_hz"),
        ({"sync_channel": "det"}, "name other channels"),
    ],
)
def test_inconsistent_settings_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SimulatedSettings(name="det", source="simulated", **fields)
