"""The broker loses its queue (SIGKILL, no persistence) while central is away: the records it
had are lost to the broker but not to the system. Central sees the gap from the rig's status,
asks for a replay, and ends with every record exactly once."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

pytestmark = [pytest.mark.network, pytest.mark.slow]


def spool_meta(path: Any) -> dict[str, str]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())


def test_queue_lost_with_the_broker_is_replayed_from_the_rig_s_spool(
    rigged: Any, wait_until: Any
) -> None:
    first, queued = 500, 1_000
    total = first + queued
    rig = rigged.rig
    rig.configure([{"name": "det", "source": "simulated", "rate_hz": 1_000, "count": total}])
    rigged.central.start()
    watcher = rig.subscribe()  # a plain subscriber: shows what the broker took
    agent = rig.agent()
    wait_until(lambda: rigged.stored() >= first, what=f"{first} records stored")
    wait_until(lambda: "acked_seq" in spool_meta(rig.spool), what="the rig heard a watermark")

    rigged.central.stop()  # its persistent session queues the rest at the broker
    wait_until(lambda: len(watcher.received.unique()) >= total, what="every record at the broker")
    assert rigged.stored() < total, "central was away while records were queued for it"
    rigged.kill_broker()  # the queue for central is gone with it

    rigged.central.start()
    wait_until(lambda: rigged.stored() >= total, timeout=30, what="the lost records replayed")
    wait_until(
        lambda: int(spool_meta(rig.spool).get("acked_seq", -1)) == total - 1,
        what="the rig to hear that central has everything",
    )

    assert rigged.stored_seqs() == list(range(total)), "every record, none missing or doubled"
    assert rigged.received_count() == total
    view = rigged.rig_view()
    assert (view["received"], view["lost"]) == (total, 0)
    assert "asking the rig to replay them" in rigged.central.log_path.read_text()
    assert agent.process is not None and agent.process.poll() is None
