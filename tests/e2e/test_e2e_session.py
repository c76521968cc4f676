"""End to end with real processes: rig-agent (UDP and simulated channels) -> MQTT broker ->
central (uvicorn on a free port) -> database -> a python-socketio client.

The rig agent plays the demo scenario on a simulated channel after a pulse on its sync channel;
the test itself sends two UDP datagrams to the agent's network channel at chosen video times:
one while the wheelchair user is visible (the scenario's only miss becomes a hit), one after
every ground-truth event (a false alarm). The results endpoint must give the numbers these
signals imply, and the Socket.IO client must have seen every detection judged live and the
final ``test_completed``.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import socketio
import uvicorn

from central.app import create_app
from central.auth import Role
from central.config import CentralSettings
from central.db import migrate
from central.db.engine import make_engine, session_factory
from central.demo.rig import DETECTION_CHANNEL, SYNC_CHANNEL, RigProcess, rig_config_toml
from central.demo.scenario import DEFAULT_SCENARIO, Intent
from central.demo.video import render_demo_video
from central.ingest.broker import free_port
from central.services.tokens import create_token
from tests.integration.central.socketio_contract import assert_fits_the_document

pytestmark = [pytest.mark.network, pytest.mark.slow]

SCENARIO = DEFAULT_SCENARIO
RIG_ID = "rig-e2e"
UDP_CHANNEL = "udp-det"
START_DELAY_MS = 2500.0
UDP_SIGNALS = (
    (4920.0, "wheelchair_user"),  # 120 ms after the wheelchair user appears: a hit
    (7700.0, "pedestrian"),  # 800 ms after the last event's window closed: a false alarm
)


def _checked(event: str, kept: list[dict[str, Any]]) -> Any:
    """A handler that checks each payload against docs/socketio-asyncapi.yaml, then keeps it."""

    def keep(data: dict[str, Any]) -> None:
        assert_fits_the_document(event, data)
        kept.append(data)

    return keep


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _token(settings: CentralSettings) -> str:
    migrate.ensure_ready(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session:
            return create_token(session, Role.OPERATOR, "e2e")[1]
    finally:
        engine.dispose()


async def _poll(fetch: Any, accept: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await fetch()
        if accept(value):
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Run:
    """What one end-to-end run observed."""

    def __init__(self) -> None:
        self.detection_events: list[dict[str, Any]] = []
        self.completed: list[dict[str, Any]] = []
        self.progress: list[dict[str, Any]] = []
        self.results: dict[str, Any] = {}
        self.comparisons: list[dict[str, Any]] = []
        self.session: dict[str, Any] = {}


async def _run(tmp_path: Path, broker_url: str, prefix: str) -> Run:
    port = free_port()
    settings = CentralSettings(
        host="127.0.0.1",
        port=port,
        data_dir=tmp_path / "central",
        mqtt_url=broker_url,
        topic_prefix=prefix,
    )
    token = _token(settings)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    run = Run()
    agent: RigProcess | None = None
    sio = socketio.AsyncClient()
    try:
        await _poll(lambda: asyncio.sleep(0, server.started), bool, 20, "the server to start")
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=20) as http:

            async def ok(method: str, path: str, **kwargs: Any) -> Any:
                response = await http.request(method, path, **kwargs)
                assert response.status_code < 300, f"{method} {path}: {response.text}"
                return response.json()

            project = await ok("POST", "/api/projects", json={"name": "e2e"})
            video_path = render_demo_video(SCENARIO, tmp_path / "scenario.mp4")
            with video_path.open("rb") as handle:
                video = await ok(
                    "POST",
                    f"/api/projects/{project['id']}/videos",
                    files={"file": ("scenario.mp4", handle, "video/mp4")},
                )
            await ok(
                "POST",
                f"/api/videos/{video['id']}/annotations/bulk",
                json={"annotations": SCENARIO.annotations()},
            )
            session = await ok(
                "POST",
                "/api/test-sessions",
                json={
                    "name": "e2e",
                    "projectId": project["id"],
                    "videoId": video["id"],
                    "rigId": RIG_ID,
                },
            )
            session_id = session["id"]

            for event, kept in (
                ("detection_event", run.detection_events),
                ("test_completed", run.completed),
                ("session_progress", run.progress),
            ):
                sio.on(event, _checked(event, kept))
            await sio.connect(base, auth={"token": token}, transports=["websocket"])
            joined = await sio.call("join_test_session", {"test_session_id": session_id})
            assert joined["ok"] is True

            udp_port = _free_udp_port()
            config = tmp_path / "rig.toml"
            config.write_text(
                rig_config_toml(
                    SCENARIO,
                    rig_id=RIG_ID,
                    mqtt_url=broker_url,
                    topic_prefix=prefix,
                    spool_path=tmp_path / "spool.db",
                    start_delay_ms=START_DELAY_MS,
                    extra_channels=[
                        {
                            "name": UDP_CHANNEL,
                            "role": "detection",
                            "source": "network",
                            "protocol": "udp",
                            "listen": f"127.0.0.1:{udp_port}",
                            "format": "json",
                        },
                    ],
                )
            )
            agent = RigProcess(config, tmp_path / "agent.log")
            agent.start()
            await _poll(
                lambda: http.get(f"/api/rigs/{RIG_ID}"),
                lambda r: r.status_code == 200 and r.json()["state"] == "online",
                15,
                "the rig to come online",
            )
            started = await ok(
                "POST",
                f"/api/test-sessions/{session_id}/start",
                json={
                    "signalType": "network",
                    "testDuration": 60,
                    "toleranceMs": 100,
                    "maxLatencyMs": 200,
                    "minAccuracy": 0.5,
                    "syncChannel": SYNC_CHANNEL,
                    "channels": [DETECTION_CHANNEL, UDP_CHANNEL],
                },
            )
            assert started["status"] == "running", started

            synced = await _poll(
                lambda: ok("GET", f"/api/test-sessions/{session_id}"),
                lambda s: s["syncMonoNs"] is not None,
                10,
                "the sync pulse",
            )
            sync_ns = synced["syncMonoNs"]
            # The rig stamps on CLOCK_MONOTONIC, the clock time.monotonic_ns() reads here.
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                for at_ms, vru_type in UDP_SIGNALS:
                    delay_s = (sync_ns + at_ms * 1e6 - time.monotonic_ns()) / 1e9
                    assert delay_s > 0, "the sync pulse reached the test too late"
                    await asyncio.sleep(delay_s)
                    line = f'{{"vru_type": "{vru_type}", "confidence": 0.7}}\n'
                    udp.sendto(line.encode(), ("127.0.0.1", udp_port))

            expected_records = len(SCENARIO.signals) + len(UDP_SIGNALS)
            await _poll(
                lambda: ok("GET", f"/api/test-sessions/{session_id}/detailed-results"),
                lambda d: (d["results"] or {}).get("records") == expected_records,
                10,
                "every detection to be judged",
            )
            stopped = await ok("POST", f"/api/test-sessions/{session_id}/stop")
            run.results = stopped["results"]
            run.session = await ok("GET", f"/api/test-sessions/{session_id}")
            run.comparisons = await ok(
                "GET",
                f"/api/test-sessions/{session_id}/detection-comparison",
                params={"limit": 1000},
            )
            await _poll(lambda: asyncio.sleep(0, run.completed), bool, 5, "test_completed")
    finally:
        await sio.disconnect()
        if agent is not None:
            await asyncio.to_thread(agent.stop)
        server.should_exit = True
        await serving
    return run


def test_signals_from_a_real_rig_are_judged_live_and_scored_exactly(
    tmp_path: Path, mqtt_broker: Any, topic_prefix: str
) -> None:
    run = asyncio.run(_run(tmp_path, mqtt_broker.url, topic_prefix))
    results = run.results

    # Counts follow from the signals: the scenario's 4 hits, 1 repeat and 2 false alarms, plus
    # the UDP hit on the wheelchair user (no miss left) and the UDP false alarm.
    assert run.session["status"] == "stopped"
    assert (results["truePositives"], results["falsePositives"], results["falseNegatives"]) == (
        5,
        3,
        0,
    )
    assert results["repeats"] == 1 and results["recordCount"] == 9
    assert results["precision"] == pytest.approx(5 / 8)
    assert results["recall"] == pytest.approx(1.0)
    assert results["accuracy"] == pytest.approx(5 / 8)

    # Latency: each hit's rig-stamped video time minus the onset of the event it hit.
    onset = {str(t.vru_type): SCENARIO.frame_time_ms(t.first_frame) for t in SCENARIO.tracks}
    hits = [c for c in run.comparisons if c["matchType"] == "TP"]
    latencies = np.array([c["tVideoMs"] - onset[c["vruType"]] for c in hits])
    stats = results["latency"]
    assert stats["count"] == 5
    assert stats["meanMs"] == pytest.approx(float(latencies.mean()))
    for key, q in (("p50Ms", 50), ("p95Ms", 95), ("p99Ms", 99)):
        assert stats[key] == pytest.approx(float(np.percentile(latencies, q)))
    assert stats["maxMs"] == pytest.approx(float(latencies.max()))
    planned = {
        s.track: s.at_ms - onset[str(s.vru_type)]
        for s in SCENARIO.signals
        if s.intent is Intent.TRUE_POSITIVE
    }
    hit_of = {c["vruType"]: c for c in hits}
    assert hit_of["wheelchair_user"]["channel"] == UDP_CHANNEL
    assert hit_of["wheelchair_user"]["temporalDifferenceMs"] == pytest.approx(120.0, abs=30)
    for track in SCENARIO.tracks:
        if track.detection_id in planned:
            hit = hit_of[str(track.vru_type)]
            assert hit["channel"] == DETECTION_CHANNEL
            assert hit["temporalDifferenceMs"] == pytest.approx(planned[track.detection_id], abs=30)

    # Live: every detection record reached the session's room once, already judged, and the
    # provisional verdicts agree with the final ones (the records arrived in time order).
    sent = [d for event in run.detection_events for d in event["detections"]]
    assert all(d["provisional"] is True for d in sent)
    judged = {d["id"]: d["matchType"] for d in sent}
    assert len(judged) == len(sent), "no record is sent twice"
    final = {
        c["detectionEventId"]: c["matchType"] for c in run.comparisons if c["detectionEventId"]
    }
    assert judged == final
    assert run.progress, "a provisional score was sent while the session ran"
    last = run.progress[-1]
    assert last["provisional"] is True and last["testSessionId"] == run.session["id"]
    assert (last["records"], last["truePositives"], last["falsePositives"]) == (9, 5, 3)
    (completed,) = run.completed
    assert completed["testSessionId"] == run.session["id"]
    assert completed["status"] == "stopped"
    assert completed["metrics"] == results
