"""A test session across two centrals of one share group (one PostgreSQL, one Mosquitto, one
Redis) with a real rig agent playing the demo scenario: one central owns the session, both
ingest its records, and it does not matter which one a request or a dashboard reaches.

- The owner judges live every record, whichever central ingested it; a dashboard on the other
  central receives every ``detection_event`` and the ``test_completed``; a stop sent to the
  other central is carried out by the owner; the provisional counts at stop are the final ones.
- The owner SIGKILLed mid-stream: the other central takes the session over when the lease
  expires, the killed one comes back, every record is stored once, and the session completes
  with the scenario's verdict.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio  # type: ignore[import-untyped]
from sqlalchemy import create_engine, func, select

from central.config import CentralSettings
from central.db.models import DetectionEvent, TestSession
from central.demo.rig import RigProcess
from central.demo.scenario import DEFAULT_SCENARIO
from central.ingest.ingestor import central_client_id
from central.ingest.mqtt_sessions import discard_session
from tests.integration.central.conftest import poll_until

from .conftest import (
    CentralProcess,
    redis_url,
    scenario_session_over_http,
    scenario_start_body,
    start_scenario_agent,
)

pytestmark = [pytest.mark.network, pytest.mark.slow, pytest.mark.postgres]

SCENARIO = DEFAULT_SCENARIO
EXPECTED = SCENARIO.expected()
INSTANCES = ("central-a", "central-b")
RIG_ID = "rig-shared-session"
START_DELAY_MS = 6000.0
"""The agent plays the scenario this long after it starts: time to start the session first."""
LEASE_ENV = {
    "CENTRAL_SESSION_LEASE_S": "3",
    "CENTRAL_SESSION_RENEW_S": "0.5",
    "CENTRAL_SESSION_POLL_S": "0.2",
}


class Pair:
    """Two centrals, the scenario's session (created, not started) and its rig agent."""

    def __init__(self, settings: CentralSettings, tmp_path: Path, redis_url: str) -> None:
        group = settings.topic_prefix.replace("/", "-")
        self.settings = settings
        self.tmp_path = tmp_path
        self.centrals = [
            CentralProcess(
                settings,
                tmp_path / f"{instance}.log",
                ["--instance-id", instance, "--mqtt-share-group", group, "--redis-url", redis_url],
                LEASE_ENV,
            )
            for instance in INSTANCES
        ]
        self.engine = create_engine(settings.database_url)
        self.agent: RigProcess | None = None
        self.session_id = ""

    def call(self, central: CentralProcess, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{central.url}{path}", timeout=60, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json()

    def start(self) -> None:
        """Both centrals, the session (made at the first) and the rig agent, online."""
        for central in self.centrals:
            central.start()
        self.session_id = scenario_session_over_http(self.centrals[0].url, self.tmp_path, RIG_ID)
        self.agent = start_scenario_agent(
            self.tmp_path,
            str(self.settings.mqtt_url),
            self.settings.topic_prefix,
            RIG_ID,
            START_DELAY_MS,
        )
        rig_url = f"{self.centrals[0].url}/api/rigs/{RIG_ID}"
        poll_until(
            lambda: httpx.get(rig_url, timeout=5).json().get("state") == "online",
            20,
            "the rig to come online",
        )

    def start_session(self, central: CentralProcess, duration_s: int) -> None:
        started = self.call(
            central,
            "POST",
            f"/api/test-sessions/{self.session_id}/start",
            json=scenario_start_body(duration_s),
        )
        assert started["status"] == "running", started

    def detections(self) -> int:
        """Detection records of the session stored (once each by ``(rig_id, stream, seq)``, so
        a redelivery lost or doubled shows in the count)."""
        e = DetectionEvent
        query = select(func.count()).where(
            e.test_session_id == self.session_id, e.kind == "detection"
        )
        with self.engine.connect() as connection:
            return int(connection.scalar(query) or 0)

    def row(self) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(
                select(TestSession.status, TestSession.owner_id, TestSession.results).where(
                    TestSession.id == self.session_id
                )
            ).one()

    def close(self) -> None:
        if self.agent is not None:
            self.agent.stop()
        for central in self.centrals:
            central.kill()
        self.engine.dispose()


@pytest.fixture
def pair(settings: CentralSettings, tmp_path: Path, mqtt_broker: Any) -> Iterator[Pair]:
    if mqtt_broker.kind != "mosquitto":
        pytest.skip("the embedded amqtt broker serves no shared subscriptions")
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("several centrals share PostgreSQL; SQLite is one process's database")
    world = Pair(settings, tmp_path, redis_url())
    yield world
    world.close()
    for instance in INSTANCES:
        client_id = central_client_id(settings.topic_prefix, instance)
        asyncio.run(discard_session(str(settings.mqtt_url), client_id))


def _counts(results: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        results["truePositives"],
        results["falsePositives"],
        results["falseNegatives"],
        results["repeats"],
    )


SCENARIO_COUNTS = (len(EXPECTED.latencies_ms), 2, 1, 1)
"""The scenario's verdict: 4 hits, 2 false alarms, the missed wheelchair user, one repeat."""


def test_a_dashboard_and_a_stop_at_either_central_serve_a_session_the_other_owns(
    pair: Pair,
) -> None:
    a, b = pair.centrals
    pair.start()
    detection_events: list[dict[str, Any]] = []
    completed: list[dict[str, Any]] = []

    async def run() -> dict[str, Any]:
        client = socketio.AsyncClient(reconnection=False)
        client.on("detection_event", detection_events.append)
        client.on("test_completed", completed.append)
        await client.connect(a.url, transports=["websocket"], wait_timeout=10)
        joined = await client.call("join_test_session", {"test_session_id": pair.session_id})
        assert joined["ok"] is True
        try:
            await asyncio.to_thread(pair.start_session, b, 60)  # b owns the session
            assert pair.row().owner_id == "central-b"
            await asyncio.to_thread(
                poll_until,
                lambda: pair.detections() >= len(SCENARIO.signals),
                40,
                "every scenario detection stored",
            )
            # Stopped at a, which does not own it: b carries the stop out.
            stopped = await asyncio.to_thread(
                pair.call, a, "POST", f"/api/test-sessions/{pair.session_id}/stop"
            )
            async with asyncio.timeout(15):
                while not completed:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # a second test_completed would land now
        finally:
            await client.disconnect()
        return dict(stopped)

    stopped = asyncio.run(run())
    assert stopped["status"] == "stopped"
    results = stopped["results"]
    assert _counts(results) == SCENARIO_COUNTS
    status, owner, _ = pair.row()
    assert (status, owner) == ("stopped", "central-b"), "the owner ran the final pass"

    # Both centrals took a share of the rig's messages...
    for central in pair.centrals:
        stats = httpx.get(f"{central.url}/api/ingest", timeout=5).json()["stats"]
        assert int(stats["messages"]) > 0, f"{central.log_path.name} took no share"
    # ...and a's dashboard got every record judged live by b, once, and b's test_completed.
    sent = [d for event in detection_events for d in event["detections"]]
    assert len({d["id"] for d in sent}) == len(sent) == len(SCENARIO.signals)
    live = [d["matchType"] for d in sent]
    provisional = (live.count("TP"), live.count("FP"), live.count("repeat"))
    assert provisional == (results["truePositives"], results["falsePositives"], results["repeats"])
    (done,) = completed
    assert done["testSessionId"] == pair.session_id and done["status"] == "stopped"
    assert done["metrics"] == results


def test_the_owner_killed_mid_stream_the_session_is_taken_over_and_completes_once(
    pair: Pair,
) -> None:
    a = pair.centrals[0]
    pair.start()
    duration_s = 20
    pair.start_session(a, duration_s)
    assert pair.row().owner_id == "central-a"
    poll_until(lambda: pair.detections() >= 2, 30, "the stream to be under way")
    a.kill()
    at_kill = pair.detections()
    assert at_kill < len(SCENARIO.signals), "the kill came after the stream ended"

    poll_until(lambda: pair.row().owner_id == "central-b", 20, "b to take the session over")
    a.start()  # its queue on the broker holds its share of what the rig sent meanwhile
    row = poll_until(
        lambda: (r := pair.row()).status != "running" and r,
        duration_s + 30,
        "the session to complete",
    )
    assert (row.status, row.owner_id) == ("completed", "central-b")
    assert _counts(row.results) == SCENARIO_COUNTS
    time.sleep(0.5)  # a redelivered duplicate would land now
    assert pair.detections() == len(SCENARIO.signals)
