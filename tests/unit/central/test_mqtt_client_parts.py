"""The pure parts of the MQTT client: protocol choice and reconnect backoff."""

from __future__ import annotations

import pytest

from central.ingest._client_types import Backoff
from central.ingest.client import MqttClient


def test_an_unknown_protocol_choice_is_refused() -> None:
    with pytest.raises(ValueError, match="protocol"):
        MqttClient("mqtt://127.0.0.1", "c", protocol="4")


def test_backoff_doubles_up_to_the_cap_with_jitter_below_each_step() -> None:
    backoff = Backoff(initial_s=0.5, cap_s=4.0)
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len({round(d, 6) for d in delays[3:]}) > 1, "jittered, not a fixed delay"
    backoff.reset()
    assert backoff.next_delay() <= 0.5
