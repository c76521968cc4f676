"""PostgreSQL ends central's connections in the middle of ingest (``pg_terminate_backend``, as a
failover or an administrator would): ingest reconnects and goes on, nothing is acknowledged
before its commit, and every record is stored exactly once."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.network, pytest.mark.slow, pytest.mark.postgres]


def test_connections_killed_mid_ingest_lose_and_double_nothing(
    rigged: Any, wait_until: Any
) -> None:
    if not rigged.postgres:
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    total = 6_000
    rig = rigged.rig
    rig.configure([{"name": "det", "source": "simulated", "rate_hz": 2_000, "count": total}])
    rigged.central.start()
    agent = rig.agent()

    ended = 0
    for mark in (1_000, 3_000):
        wait_until(lambda mark=mark: rigged.stored() >= mark, what=f"{mark} records stored")
        ended += rigged.terminate_central_connections()
    assert ended >= 2, "central's connections were ended under it"
    assert rigged.stored() < total, "the kills came while records were still arriving"

    wait_until(lambda: rigged.stored() >= total, timeout=30, what="every record after the kills")
    assert rigged.stored_seqs() == list(range(total)), "every record exactly once"
    assert rigged.received_count() == total
    assert (rigged.rig_view()["received"], rigged.rig_view()["lost"]) == (total, 0)
    assert agent.process is not None and agent.process.poll() is None
