"""Central SIGKILLed during the final pass of a session: on restart the session is finalized
once, as the stop asked.

The test holds a lock on ``detection_comparisons`` (``LOCK TABLE ... IN SHARE MODE``, as a long
report query could), so the pass stops at its first write, in the middle of its transaction:
the session row locked, every record read and matched. Central is killed there; the pass's
transaction dies with it. The restarted central (same instance id, so it takes its own lease
back at once) finds the stop request stored and runs the pass again. At the end: one set of
comparison, latency and track rows, one results message, the scenario's verdict.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine, func, select, text

from central.db.models import (
    DetectionComparison,
    DetectionEvent,
    LatencyMeasurement,
    TestSession,
    TrackResult,
)
from central.demo.scenario import DEFAULT_SCENARIO
from protocol import decode_results
from tests.integration.central.conftest import poll_until
from tests.integration.central.ingest.conftest import (
    scenario_session_over_http,
    scenario_start_body,
    start_scenario_agent,
)

pytestmark = [pytest.mark.network, pytest.mark.slow, pytest.mark.postgres]

SCENARIO = DEFAULT_SCENARIO
RIG_ID = "rig-final-pass"


class ResultsMessages:
    """Results messages published live (not retained copies) on the private broker."""

    def __init__(self, port: int, prefix: str) -> None:
        self.received: list[Any] = []
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"results-{time.time_ns()}"
        )
        self.client.on_message = self._keep
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(f"{prefix}/sessions/+/results", qos=1)

    def _keep(self, _client: Any, _userdata: Any, message: Any) -> None:
        if not message.retain:
            self.received.append(decode_results(message.payload))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_central_killed_in_the_final_pass_finalizes_the_session_once_on_restart(
    rigged: Any, wait_until: Any, tmp_path: Path, database_url: str, topic_prefix: str
) -> None:
    if not rigged.postgres:
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432 (the test holds a table lock)")
    central = rigged.central
    central.start()
    session_id = scenario_session_over_http(central.url, tmp_path, RIG_ID)
    results = ResultsMessages(rigged.broker.port, topic_prefix)
    engine = create_engine(database_url)
    agent = None
    try:
        agent = start_scenario_agent(
            tmp_path, f"mqtt://127.0.0.1:{rigged.broker.port}", topic_prefix, RIG_ID, 4000.0
        )
        wait_until(
            lambda: (
                httpx.get(f"{central.url}/api/rigs/{RIG_ID}", timeout=5).json().get("state")
                == "online"
            ),
            20,
            "the rig to come online",
        )
        started = httpx.post(
            f"{central.url}/api/test-sessions/{session_id}/start",
            json=scenario_start_body(60),
            timeout=30,
        ).json()
        assert started["status"] == "running"

        def count(model: Any, *where: Any) -> int:
            with engine.connect() as connection:
                query = select(func.count()).select_from(model).where(*where)
                return int(connection.scalar(query) or 0)

        records = len(SCENARIO.signals)
        detections = (
            DetectionEvent.test_session_id == session_id,
            DetectionEvent.kind == "detection",
        )
        wait_until(lambda: count(DetectionEvent, *detections) >= records, 30, "every detection")

        with engine.connect() as blocker:
            blocker.execute(text("LOCK TABLE detection_comparisons IN SHARE MODE"))
            stop_errors: list[Exception] = []

            def request_stop() -> None:
                try:
                    httpx.post(f"{central.url}/api/test-sessions/{session_id}/stop", timeout=60)
                except httpx.TransportError as exc:  # central dies under the request
                    stop_errors.append(exc)

            stop = threading.Thread(target=request_stop, daemon=True)
            stop.start()

            def pass_waits_on_the_lock() -> bool:
                query = text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"
                    " AND wait_event_type = 'Lock' AND query ILIKE '%detection_comparisons%'"
                )
                with engine.connect() as connection:
                    return bool(connection.scalar(query, {"name": rigged.application_name}))

            wait_until(pass_waits_on_the_lock, 30, "the final pass to reach its first write")
            central.kill()
            rigged.terminate_central_connections()  # as TCP keepalive would, sooner
            blocker.rollback()
        stop.join(10)
        assert stop_errors, "the stop request was answered: the pass was not cut short"

        with engine.connect() as connection:
            status, requested = connection.execute(
                select(TestSession.status, TestSession.stop_requested_at).where(
                    TestSession.id == session_id
                )
            ).one()
        assert status == "running", "the kill came after the pass committed"
        assert requested is not None, "the stop request was stored before the pass"
        assert count(DetectionComparison, DetectionComparison.test_session_id == session_id) == 0

        central.start()

        def finished() -> Any:
            with engine.connect() as connection:
                row = connection.execute(
                    select(TestSession.status, TestSession.results).where(
                        TestSession.id == session_id
                    )
                ).one()
            return row if row.status != "running" else None

        row = poll_until(finished, 30, "the restarted central to finalize the session")
        time.sleep(1.0)  # a second pass or results message would land now
        assert row.status == "stopped"
        verdict = row.results
        assert (verdict["truePositives"], verdict["falsePositives"]) == (4, 2)
        assert (verdict["falseNegatives"], verdict["repeats"]) == (1, 1)
        in_session = DetectionComparison.test_session_id == session_id
        assert count(DetectionComparison, in_session) == records + 1  # and the one miss
        assert count(LatencyMeasurement, LatencyMeasurement.test_session_id == session_id) == 4
        tracks = {a["detectionId"] for a in SCENARIO.annotations()}
        assert count(TrackResult, TrackResult.test_session_id == session_id) == len(tracks)
        announced = [m for m in results.received if m.session_id == session_id]
        assert [(m.status, m.passed) for m in announced] == [("stopped", verdict["passed"])]
        assert count(DetectionEvent, *detections) == records, "no record doubled"
    finally:
        results.close()
        if agent is not None:
            agent.stop()
        engine.dispose()
