"""Reconnect delays grow exponentially, stop at the cap, and are spread by jitter."""

from __future__ import annotations

import random

from rig_agent.mqtt_link import backoff_delay


def test_delays_double_up_to_the_cap() -> None:
    rng = random.Random(1)
    ceilings = [min(30.0, 0.5 * 2**attempt) for attempt in range(12)]
    for attempt, ceiling in enumerate(ceilings):
        delay = backoff_delay(attempt, 0.5, 30.0, rng)
        assert ceiling / 2 <= delay <= ceiling
    assert backoff_delay(10_000, 0.5, 30.0, rng) <= 30.0


def test_jitter_spreads_a_fleet_reconnecting_at_once() -> None:
    rng = random.Random(7)
    delays = {round(backoff_delay(5, 0.5, 30.0, rng), 3) for _ in range(50)}
    assert len(delays) > 40
    assert min(delays) >= 8.0 and max(delays) <= 16.0
