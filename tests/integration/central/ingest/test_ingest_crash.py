"""Central killed with SIGKILL in the middle of ingest, then restarted: every record the rig
published is stored exactly once (the broker keeps what central had not acknowledged)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from central.db.models import DetectionEvent, RigStream

BATCHES = 120
RECORDS_PER_BATCH = 50


def test_sigkill_mid_ingest_loses_nothing_and_doubles_nothing(
    central_process: Any,
    make_rig: Callable[..., Any],
    mqtt_broker: Any,
    wait_until: Callable[..., Any],
) -> None:
    if mqtt_broker.kind != "mosquitto":
        pytest.skip("amqtt does not resend unacknowledged QoS 1 messages after a reconnect")
    engine = create_engine(central_process.settings.database_url)

    def stored() -> int:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(DetectionEvent)) or 0)

    central_process.start()
    rig = make_rig()
    rig.status()
    publisher = ThreadPoolExecutor(1)
    published = publisher.submit(rig.publish_series, BATCHES, RECORDS_PER_BATCH)
    total = BATCHES * RECORDS_PER_BATCH
    wait_until(lambda: stored() >= total // 5, what="ingest to be under way")
    central_process.kill()
    at_kill = stored()
    published.result(timeout=60)  # every batch taken by the broker
    publisher.shutdown()
    assert at_kill < total, "the kill came too late to test anything"

    central_process.start()
    wait_until(lambda: stored() >= total, timeout=30, what="every record after the restart")
    time.sleep(0.3)  # any redelivered duplicate would land now

    with engine.connect() as connection:
        seqs = sorted(connection.scalars(select(DetectionEvent.seq)))
        stream = connection.execute(
            select(RigStream.received_count, RigStream.first_seq, RigStream.last_seq)
        ).one()
    engine.dispose()
    assert seqs == list(range(total)), "every record exactly once"
    assert tuple(stream) == (total, 0, total - 1), "no loss and no double count in rig_streams"
    central_process.stop()
