"""A rig whose retained status still says online but whose heartbeats stopped is shown offline,
over the API and as a ``rig_status`` event, and online again with its next heartbeat."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from protocol import RigStatus, Topics, encode
from tests.integration.central.realtime.test_realtime_events import connected

INTERVAL_S = 0.4


def test_a_silent_rig_goes_offline_and_its_next_heartbeat_brings_it_back(
    live_server: Any, mqtt_broker: Any, settings: Any, http: httpx.Client
) -> None:
    topic = Topics(settings.topic_prefix).status("rig-1")
    heartbeat = encode(RigStatus(rig_id="rig-1", state="online", interval_s=INTERVAL_S))

    def api_state() -> str:
        return str(http.get("/api/rigs/rig-1").json()["state"])

    async def scenario() -> None:
        dashboard = await connected(live_server)
        await dashboard.join("join_dashboard")
        rig = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        rig.connect(mqtt_broker.host, mqtt_broker.port)
        rig.loop_start()
        try:
            rig.publish(topic, heartbeat, qos=1, retain=True).wait_for_publish(5)
            first = (await dashboard.wait_for("rig_status"))[0]
            assert first["state"] == "online" and api_state() == "online"

            # The rig falls silent; its retained status goes on saying online.
            events = await dashboard.wait_for("rig_status", count=2, timeout=3 * INTERVAL_S + 3)
            assert events[1]["rigId"] == "rig-1" and events[1]["state"] == "offline"
            assert events[1]["lastSeenAt"] == first["lastSeenAt"]
            assert api_state() == "offline"

            rig.publish(topic, heartbeat, qos=1, retain=True).wait_for_publish(5)
            back = (await dashboard.wait_for("rig_status", count=3))[2]
            assert back["state"] == "online" and api_state() == "online"
        finally:
            rig.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
            rig.loop_stop()
            rig.disconnect()
            await dashboard.sio.disconnect()

    asyncio.run(scenario())
