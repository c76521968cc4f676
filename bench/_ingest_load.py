"""The loads of ``bench/ingest.py`` that paho publishes, and how the bench reads central's
progress: records stored so far (``GET /api/ingest``) and the sustained rate between marks."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from _ingest_procs import cpu_seconds
from ingest_baselines import publish_paced, sample_batches
from paho.mqtt.enums import CallbackAPIVersion

from protocol import RigStatus, Topics, encode

__all__ = [
    "FLOOD_BATCH",
    "flood",
    "ingest_stats",
    "paced_without_agent",
    "sustained_rate",
    "wait_stored",
]

FLOOD_BATCH = 500


def paho_rig(broker: str, topics: Topics, rig_id: str) -> mqtt.Client:
    """A paho client playing a rig that has sent its status (so central takes its records)."""
    host, port = broker.removeprefix("mqtt://").split(":")
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(100)
    client.connect(host, int(port))
    client.loop_start()
    status = encode(RigStatus(rig_id=rig_id, state="online"))
    client.publish(topics.status(rig_id), status, qos=1).wait_for_publish(5)
    time.sleep(0.5)
    return client


def paced_without_agent(
    central: str, broker: str, prefix: str, rate: float, records: int
) -> tuple[float, dict[str, float]]:
    """Central alone under a paced load: paho publishes the batches a rig would (100 records at
    most, a 5 ms linger), so the rig agent's CPU is out of the picture."""
    topics = Topics(prefix)
    client = paho_rig(broker, topics, "rig-paho")
    base = ingest_stats(central)["records_stored"]
    sender = threading.Thread(
        target=publish_paced,
        args=(
            lambda b: client.publish(topics.records("rig-paho"), b, qos=1),
            rate,
            records,
            "rig-paho",
        ),
    )
    sender.start()
    samples = wait_stored(central, base + records, timeout=records / rate * 10 + 60)
    sender.join()
    client.loop_stop()
    client.disconnect()
    lag = ingest_stats(central)["capture_to_commit_ms_by_rig"]["rig-paho"]
    return sustained_rate(samples, base, records), lag


def flood(
    central: str, central_process: subprocess.Popen[bytes], broker: str, prefix: str, records: int
) -> tuple[float, float]:
    """Pre-encoded 500-record batches published as fast as the broker takes them; returns the
    sustained records/s and central's CPU microseconds per record over the phase."""
    topics = Topics(prefix)
    batches = sample_batches(
        records, rig_id="rig-flood", stream=f"flood-{uuid.uuid4().hex[:8]}", batch=FLOOD_BATCH
    )
    client = paho_rig(broker, topics, "rig-flood")
    base = ingest_stats(central)["records_stored"]
    cpu_before = cpu_seconds(central_process)
    topic = topics.records("rig-flood")
    sender = threading.Thread(
        target=lambda: [client.publish(topic, batch, qos=1) for batch in batches]
    )
    sender.start()
    samples = wait_stored(central, base + records, timeout=300)
    cpu = cpu_seconds(central_process) - cpu_before
    sender.join()
    client.loop_stop()
    client.disconnect()
    return sustained_rate(samples, base, records), cpu / records * 1e6


def ingest_stats(central: str) -> dict[str, Any]:
    stats: dict[str, Any] = httpx.get(f"{central}/api/ingest", timeout=5).json()["stats"]
    return stats


def wait_stored(central: str, target: int, timeout: float) -> list[tuple[float, int]]:
    """Poll central's stored-record count until ``target``; returns (time, count) samples."""
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stored = ingest_stats(central)["records_stored"]
        samples.append((time.monotonic(), stored))
        if stored >= target:
            return samples
        time.sleep(0.25)  # each poll computes percentiles in central: keep it rare
    raise SystemExit(f"central stored {samples[-1][1]} of {target} records in {timeout:.0f} s")


def sustained_rate(samples: list[tuple[float, int]], base: int, total: int) -> float:
    """Records/s between the 10 % and 90 % marks of this run."""

    def first_at(fraction: float) -> tuple[float, int]:
        return next((t, n) for t, n in samples if n - base >= fraction * total)

    (t0, n0), (t1, n1) = first_at(0.1), first_at(0.9)
    return (n1 - n0) / (t1 - t0)
