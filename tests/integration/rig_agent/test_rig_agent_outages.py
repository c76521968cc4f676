"""Outages: the broker restarted mid-stream, the daemon killed mid-stream. Every record arrives."""

from __future__ import annotations

import signal
import sqlite3
import time
from typing import Any

import pytest

pytestmark = [pytest.mark.network, pytest.mark.slow]


def committed_in_spool(path: Any) -> tuple[str, int]:
    with sqlite3.connect(path) as db:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    return meta["stream"], int(meta["next_seq"])


def test_broker_stopped_and_restarted_mid_stream_loses_nothing(private_rig: Any) -> None:
    rig, broker = private_rig
    n = 3_000
    rig.configure([{"name": "det", "source": "simulated", "rate_hz": 1_000, "count": n}])
    subscriber = rig.subscribe()
    agent = rig.agent()
    rig.wait_for(lambda: len(subscriber.received.records) >= 500, 15, "records before the outage")

    broker.stop()
    time.sleep(1.0)  # the rig keeps capturing and spooling meanwhile
    broker.start()

    rig.wait_for(
        lambda: len(subscriber.received.unique()) >= n, 20, f"all {n} records after the outage"
    )
    unique = subscriber.received.unique()
    assert sorted(seq for _, _, seq in unique) == list(range(n)), "every record, none missing"
    assert len({stream for _, stream, _ in unique}) == 1
    assert "lost the broker connection" in agent.log()
    agent.signal(signal.SIGTERM)
    assert agent.wait() == 0, agent.log()


def test_sigkill_mid_stream_then_restart_delivers_every_committed_record(rig: Any) -> None:
    n = 2_000
    rig.configure([{"name": "det", "source": "simulated", "rate_hz": 2_000, "count": n}])
    subscriber = rig.subscribe()
    first = rig.agent()
    rig.wait_for(lambda: len(subscriber.received.records) >= 300, 15, "records before the kill")
    first.signal(signal.SIGKILL)
    first.wait()
    stream, committed = committed_in_spool(rig.spool)
    assert 300 <= committed < n, "killed mid-stream"

    second = rig.agent()  # the simulated script plays its n signals again
    total = committed + n
    rig.wait_for(lambda: len(subscriber.received.unique()) >= total, 20, f"{total} records")
    unique = subscriber.received.unique()
    assert sorted(seq for _, _, seq in unique) == list(range(total)), (
        "every committed record of the killed run arrives and seq continues after it"
    )
    assert {s for _, s, _ in unique} == {stream}
    after_restart = [
        r["seq"] for r in subscriber.received.records if r["payload"]["raw_line"] == "0"
    ]
    assert after_restart[-1] >= committed, "the second run's first signal got a later seq"
    second.signal(signal.SIGTERM)
    assert second.wait() == 0, second.log()
    assert committed_in_spool(rig.spool) == (stream, total)


def test_broker_down_at_startup_records_are_spooled_then_delivered(private_rig: Any) -> None:
    rig, broker = private_rig
    n = 500
    rig.configure([{"name": "det", "source": "simulated", "rate_hz": 1_000, "count": n}])
    subscriber = rig.subscribe()  # its persistent session is kept by the broker's persistence
    broker.stop()
    agent = rig.agent()
    rig.wait_for(lambda: "cannot reach the broker" in agent.log(), 10, "the outage logged")
    time.sleep(1.0)  # every signal is captured while the broker is away
    broker.start()
    rig.wait_for(lambda: len(subscriber.received.unique()) >= n, 20, f"all {n} records")
    assert sorted(seq for _, _, seq in subscriber.received.unique()) == list(range(n))
    agent.signal(signal.SIGTERM)
    assert agent.wait() == 0, agent.log()
