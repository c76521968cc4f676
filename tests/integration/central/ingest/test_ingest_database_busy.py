"""A database that refuses writes for a while (locked, full, restarting) holds ingest back; it
loses nothing, doubles nothing and dead-letters nothing: the messages stay unacknowledged until
their batch commits."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from central.db.engine import SQLITE_BUSY_TIMEOUT_MS
from central.db.models import DeadLetter, DetectionEvent
from tests.integration.central.ingest.conftest import FakeRig

pytestmark = pytest.mark.network


def test_writes_refused_past_the_busy_timeout_are_retried_until_they_commit(
    database_url: str,
    client: TestClient,
    rig: FakeRig,
    count_rows: Callable[..., int],
    wait_until: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("an exclusive lock that outlasts the busy timeout is a SQLite situation")
    rig.status()
    rig.records(range(10))
    wait_until(lambda: count_rows(DetectionEvent) == 10, what="the first batch")

    blocker = sqlite3.connect(make_url(database_url).database, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.WARNING, logger="central.ingest.ingestor"):
            rig.records(range(10, 20))
            wait_until(
                lambda: "database unavailable" in caplog.text,
                timeout=SQLITE_BUSY_TIMEOUT_MS / 1000 + 10,
                what="ingest to give up waiting for the lock and retry",
            )
    finally:
        blocker.execute("COMMIT")
        blocker.close()

    wait_until(lambda: count_rows(DetectionEvent) == 20, what="the held batch to commit")
    time.sleep(0.2)
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        assert sorted(session.scalars(select(DetectionEvent.seq))) == list(range(20))
    assert count_rows(DeadLetter) == 0
