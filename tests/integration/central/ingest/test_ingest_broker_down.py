"""Central started while its broker is down: the REST API serves, /health says ingest is cut
off, and once a broker answers on that address ingest connects and stores what rigs send."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from paho.mqtt import publish

from central.app import create_app
from central.config import CentralSettings
from central.db.models import Rig
from central.ingest.broker import ThreadedBroker, free_port
from protocol import RigState, RigStatus, Topics, encode

pytestmark = pytest.mark.network


def test_central_waits_out_a_broker_that_is_down_at_start(
    database_url: str, tmp_path: Path, central_env: None, wait_until: Callable[..., Any]
) -> None:
    port = free_port()
    settings = CentralSettings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        ingest_enabled=True,
        mqtt_url=f"mqtt://127.0.0.1:{port}",
        no_auth=True,
    )
    with TestClient(create_app(settings)) as client:
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "degraded"
        assert health.json()["broker"].startswith("connecting")
        assert client.get("/api/projects").status_code == 200

        broker = ThreadedBroker(port=port).start()
        try:
            wait_until(
                lambda: client.get("/health").json()["status"] == "ok",
                timeout=60,
                what="ingest to reach the broker that came up",
            )
            status = RigStatus(rig_id="late-rig", state=RigState.ONLINE, spool_depth=7)
            publish.single(
                Topics().status("late-rig"),
                encode(status),
                qos=1,
                retain=True,
                hostname="127.0.0.1",
                port=port,
            )

            def stored() -> Rig | None:
                with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
                    return session.get(Rig, "late-rig")

            rig = wait_until(stored, what="the late rig's status to be stored")
            assert rig.state == "online" and rig.spool_depth == 7
        finally:
            broker.stop()
