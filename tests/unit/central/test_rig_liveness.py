"""A rig is online only while its heartbeat is recent; a retained status is no heartbeat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from central.ingest._rows import rig_values
from central.ingest.liveness import effective_state
from protocol import RigStatus

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_online_lasts_three_heartbeat_intervals() -> None:
    status = {"interval_s": 2.0}
    assert effective_state("online", NOW - timedelta(seconds=5.9), status, NOW) == "online"
    assert effective_state("online", NOW - timedelta(seconds=6.1), status, NOW) == "offline"


def test_an_older_rig_without_an_interval_gets_the_agent_s_default() -> None:
    assert effective_state("online", NOW - timedelta(seconds=14), {}, NOW) == "online"
    assert effective_state("online", NOW - timedelta(seconds=16), None, NOW) == "offline"


def test_offline_stays_offline_and_online_without_any_heartbeat_is_not_online() -> None:
    assert effective_state("offline", NOW, {}, NOW) == "offline"
    assert effective_state("online", None, {}, NOW) == "offline"


def test_a_retained_status_does_not_count_as_seeing_the_rig() -> None:
    status = RigStatus(rig_id="r1", state="online")
    assert rig_values(status, NOW)["last_seen_at"] == NOW
    assert "last_seen_at" not in rig_values(status, NOW, heartbeat=False)
