"""Central ingest benchmark: rig-agent, Mosquitto and central as real processes on this machine.

    .venv/bin/python bench/ingest.py [--records 200000] [--rate 20000] [--seconds 10]
                                     [--live-rate 1000] [--live-seconds 10] [--database-url URL]

1. Saturation: the rig agent's simulated channel emits ``--records`` records as fast as it can;
   central's sustained records/s is measured from the commits (records stored between the 10 %
   and 90 % marks over the time between them).
2. Paced: the rig emits at ``--rate`` for ``--seconds``; central reports each record's time from
   capture (the rig's wall clock) to the commit that stored it: p50/p99.
   Goal: at least 20,000 records/s with p99 <= 100 ms.
   2b. The same load published by paho in this process instead of the rig agent (whose own CPU
   use competes with central's on a small machine).
3. Live: a test session started through central (``POST /api/test-sessions/{id}/start``, which
   commands the rig), the rig emitting at ``--live-rate``; a python-socketio client in room
   ``test_session_{id}`` takes each ``detection_event`` record's time from capture to arrival
   (records go through ingest, live matching and the coalescing of ``central.realtime.server``).
   Goal: p99 <= 50 ms at 1,000 records/s.

Baselines, measured in the same run on the same machine:
- storage: the same rows inserted by plain ``executemany`` (``INSERT .. ON CONFLICT DO NOTHING``)
  into an empty copy of the same database kind, no MQTT, no validation;
- transport: paho publishing the same record batches (QoS 1) to a paho subscriber through the
  same broker, capture to arrival, at the same paced rate, with no central in between.

Mosquitto runs with deploy/mosquitto's queue and in-flight settings (persistence off, no auth), on
a free port. The rig agent flushes a batch at 100 records or after ``batch_linger_ms`` (5 ms here;
its default of 50 ms is sized for fewer, larger messages, and alone would take half the live
budget).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import paho.mqtt.client as mqtt
import socketio
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine, text

from central.db.migrate import upgrade
from central.db.types import new_ids
from central.demo.synthetic_video import write_synthetic_video
from central.ingest._rows import detection_event_row
from central.ingest.broker import free_port
from protocol import (
    DetectionPayload,
    DetectionRecord,
    RigStatus,
    Topics,
    assemble_batch,
    decode_batch,
    encode,
    encode_record,
)

BIN = Path(sys.executable).parent
BATCH = 100

MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_queued_bytes 2000000000
max_inflight_messages 100
max_packet_size 1100000
set_tcp_nodelay true
log_dest stderr
log_type error
"""

RIG_CONF = """\
rig_id = "{rig_id}"

[mqtt]
url = "{broker}"
topic_prefix = "{prefix}"
batch_max_records = {batch}
batch_linger_ms = 5
max_inflight_batches = 32

[spool]
path = "{spool}"
max_mb = 2048

[status]
interval_s = 1

[[channels]]
name = "detections"
role = "detection"
source = "simulated"
rate_hz = {rate}
{count}

[channels.template]
vru_type = "pedestrian"
bbox = [412.0, 220.0, 64.0, 150.0]
confidence = 0.91
frame = 30
"""


def percentiles(values: list[float] | np.ndarray) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return {"p50": float("nan"), "p99": float("nan")}
    p50, p99 = np.percentile(array, [50, 99])
    return {"p50": float(p50), "p99": float(p99), "max": float(array.max())}


class Processes:
    """Child processes, killed on exit."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.children: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Any:
        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        self.children.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    def close(self) -> None:
        for process in reversed(self.children):
            self.stop(process)


def start_mosquitto(procs: Processes) -> str:
    port = free_port()
    conf = procs.workdir / "mosquitto.conf"
    conf.write_text(MOSQUITTO_CONF.format(port=port))
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    procs.start("mosquitto", [mosquitto, "-c", str(conf)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return f"mqtt://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    raise SystemExit("mosquitto did not start")


def start_central(procs: Processes, broker: str, prefix: str, database_url: str) -> str:
    port = free_port()
    upgrade(database_url)  # a server database is never migrated by central itself
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRAL_")}
    env["CENTRAL_TOPIC_PREFIX"] = prefix
    procs.start(
        "central",
        [
            str(BIN / "rig-central"),
            "serve",
            "--no-auth",
            "--port",
            str(port),
            "--mqtt-url",
            broker,
            "--database-url",
            database_url,
            "--data-dir",
            str(procs.workdir / "central-data"),
        ],
        env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).json()["broker"].startswith("connected"):
                return url
        except (httpx.HTTPError, KeyError):
            pass
        time.sleep(0.1)
    raise SystemExit("central did not start; see central.log")


def start_rig(
    procs: Processes, name: str, broker: str, prefix: str, rate: float, count: int | None
) -> subprocess.Popen[bytes]:
    conf = procs.workdir / f"{name}.toml"
    conf.write_text(
        RIG_CONF.format(
            rig_id=name,
            broker=broker,
            prefix=prefix,
            batch=BATCH,
            spool=procs.workdir / f"{name}.db",
            rate=rate,
            count=f"count = {count}" if count is not None else "",
        )
    )
    return procs.start(name, [str(BIN / "rig-agent"), "run", "--config", str(conf)])


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """User plus system CPU time a child has used so far (Linux /proc)."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def paced_without_agent(
    central: str, broker: str, prefix: str, rate: float, records: int
) -> tuple[float, dict[str, float]]:
    """Central alone under a paced load: paho publishes the batches a rig would (100 records at
    most, a 5 ms linger), so the rig agent's CPU is out of the picture."""
    host, port = broker.removeprefix("mqtt://").split(":")
    topics = Topics(prefix)
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(100)
    client.connect(host, int(port))
    client.loop_start()
    status = encode(RigStatus(rig_id="rig-paho", state="online"))
    client.publish(topics.status("rig-paho"), status, qos=1).wait_for_publish(5)
    time.sleep(0.5)
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


# ------------------------------------------------------------------------------------- baselines


def sample_batches(records: int, session_id: str | None = None) -> list[bytes]:
    payload = DetectionPayload(
        vru_type="pedestrian", bbox=(412, 220, 64, 150), confidence=0.91, frame=30, raw_hex="00"
    )
    batches = []
    for start in range(0, records, BATCH):
        encoded = [
            encode_record(
                DetectionRecord(
                    seq=seq,
                    session_id=session_id,
                    channel="detections",
                    source="simulated",
                    t_mono_ns=seq,
                    t_wall_ns=time.time_ns(),
                    clock="user_monotonic",
                    payload=payload,
                )
            )
            for seq in range(start, min(records, start + BATCH))
        ]
        batches.append(assemble_batch("bench-rig", "baseline", encoded))
    return batches


def storage_baseline(workdir: Path, database_url: str, records: int) -> float:
    """Plain executemany of the same rows into an empty database of the same kind."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{workdir / 'baseline.sqlite3'}"
    else:
        url = database_url
    upgrade(url)
    engine = create_engine(url)
    rows = []
    now = datetime.now(UTC)
    for batch in sample_batches(records):
        decoded = decode_batch(batch)
        stream = f"baseline-{uuid.uuid4().hex[:6]}"
        rows.extend(
            detection_event_row(row_id, "bench-rig", stream, r, None, now)
            for row_id, r in zip(new_ids(len(decoded.records)), decoded.records, strict=True)
        )
    columns = list(rows[0])
    for row in rows:
        row["bbox"] = orjson.dumps(row["bbox"]).decode()
        row["payload"] = orjson.dumps(row["payload"]).decode()
        row["received_at"] = now.replace(tzinfo=None) if url.startswith("sqlite") else now
    sql = text(
        f"INSERT INTO detection_events ({', '.join(columns)}) VALUES "
        f"({', '.join(':' + c for c in columns)}) ON CONFLICT (rig_id, stream, seq) DO NOTHING"
    )
    started = time.perf_counter()
    with engine.begin() as connection:
        for start in range(0, len(rows), 1000):
            connection.execute(sql, rows[start : start + 1000])
    elapsed = time.perf_counter() - started
    engine.dispose()
    return records / elapsed


def transport_baseline(broker: str, prefix: str, rate: float, seconds: float) -> dict[str, float]:
    """paho to paho through the broker, QoS 1, capture to arrival, at ``rate`` records/s."""
    host, port = broker.removeprefix("mqtt://").split(":")
    topic = f"{prefix}/baseline"
    lags: list[float] = []
    done = threading.Event()
    expected = int(rate * seconds)

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        now = time.time_ns()
        batch = orjson.loads(message.payload)
        lags.extend((now - r["t_wall_ns"]) / 1e6 for r in batch["records"])
        if len(lags) >= expected:
            done.set()

    sub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    sub.connect(host, int(port))
    sub.subscribe(topic, qos=1)
    sub.loop_start()
    pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.connect(host, int(port))
    pub.loop_start()
    time.sleep(0.3)
    publish_paced(lambda batch: pub.publish(topic, batch, qos=1), rate, expected, "bench-rig")
    done.wait(timeout=seconds + 30)
    for client in (pub, sub):
        client.loop_stop()
        client.disconnect()
    return percentiles(lags)


def publish_paced(publish: Any, rate: float, records: int, rig_id: str) -> None:
    """Publish ``records`` records at ``rate``, stamping each batch when it is due."""
    payload = DetectionPayload(vru_type="pedestrian", raw_hex="00")
    per_batch = max(1, min(BATCH, int(rate * 0.005)))  # about a 5 ms linger, as the rig
    interval = per_batch / rate
    start = time.monotonic()
    for n, first in enumerate(range(0, records, per_batch)):
        due = start + n * interval
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        encoded = [
            encode_record(
                DetectionRecord(
                    seq=seq,
                    channel="d",
                    source="simulated",
                    t_mono_ns=seq,
                    t_wall_ns=time.time_ns(),
                    clock="user_monotonic",
                    payload=payload,
                )
            )
            for seq in range(first, min(records, first + per_batch))
        ]
        publish(assemble_batch(rig_id, "baseline", encoded))


# ------------------------------------------------------------------------------------------ live


def create_session(central: str, workdir: Path) -> str:
    """A project, a video with one ground-truth box, and a test session on rig ``rig-live``."""
    with httpx.Client(base_url=central, timeout=30) as http:
        project = http.post("/api/projects", json={"name": f"bench {uuid.uuid4().hex[:6]}"})
        project.raise_for_status()
        clip = write_synthetic_video(workdir / "clip.mp4", frame_count=10)
        with clip.open("rb") as file:
            video = http.post(
                "/api/videos",
                files={"file": ("clip.mp4", file, "video/mp4")},
                data={"projectId": project.json()["id"]},
            )
        video.raise_for_status()
        box = {"x": 1, "y": 1, "width": 10, "height": 10}
        annotation = http.post(
            f"/api/videos/{video.json()['id']}/annotations",
            json={
                "detectionId": "p1",
                "frameNumber": 2,
                "vruType": "pedestrian",
                "boundingBox": box,
            },
        )
        annotation.raise_for_status()
        session = http.post(
            "/api/test-sessions",
            json={
                "name": "bench",
                "projectId": project.json()["id"],
                "videoId": video.json()["id"],
                "rigId": "rig-live",
            },
        )
        session.raise_for_status()
        return str(session.json()["id"])


def wait_online(central: str, rig_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = httpx.get(f"{central}/api/rigs/{rig_id}", timeout=5)
        if response.status_code == 200 and response.json()["state"] == "online":
            return
        time.sleep(0.1)
    raise SystemExit(f"rig {rig_id} did not come online")


async def watch_session(central: str, session_id: str, seconds: float) -> list[float]:
    """Join the session's room, start it through central (which commands the rig), collect
    each detection's capture-to-arrival time for ``seconds``, then stop it."""
    lags: list[float] = []
    sio = socketio.AsyncClient(reconnection=False)

    @sio.on("detection_event")
    def on_detections(data: dict[str, Any]) -> None:
        now = time.time_ns()
        lags.extend((now - d["t_wall_ns"]) / 1e6 for d in data["detections"])

    await sio.connect(central, transports=["websocket"], wait_timeout=10)
    await sio.call("join_test_session", {"test_session_id": session_id}, timeout=5)
    async with httpx.AsyncClient(base_url=central, timeout=30) as http:
        config = {
            "signalType": "network",
            "testDuration": int(seconds) + 30,
            "toleranceMs": 100,
            "maxLatencyMs": 200,
            "minAccuracy": 0.5,
            "channels": ["detections"],
        }
        started = await http.post(f"/api/test-sessions/{session_id}/start", json=config)
        started.raise_for_status()
        await asyncio.sleep(seconds)
        (await http.post(f"/api/test-sessions/{session_id}/stop")).raise_for_status()
    await sio.disconnect()
    return lags


# ------------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=20_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--live-rate", type=float, default=1_000)
    parser.add_argument("--live-seconds", type=float, default=10)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'central.sqlite3'}"
    procs = Processes(workdir)
    prefix = f"bench/{uuid.uuid4().hex[:8]}"
    try:
        broker = start_mosquitto(procs)
        central = start_central(procs, broker, prefix, database_url)
        print(f"broker {broker}, central {central}, database {database_url.split('@')[-1]}")
        load = os.getloadavg()
        print(f"{os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        print(f"logs in {workdir}")

        central_process = procs.children[1]

        # 1. saturation
        cpu_before = cpu_seconds(central_process)
        rig = start_rig(procs, "rig-saturation", broker, prefix, 10_000_000, args.records)
        samples = wait_stored(central, args.records, timeout=300)
        saturated = sustained_rate(samples, 0, args.records)
        central_cpu = cpu_seconds(central_process) - cpu_before
        rig_cpu = cpu_seconds(rig)
        procs.stop(rig)
        base = ingest_stats(central)["records_stored"]
        print(
            f"\n1. saturation: {args.records} records, sustained {saturated:,.0f} records/s; "
            f"central used {central_cpu:.1f} CPU-s ({args.records / central_cpu:,.0f} records "
            f"per CPU-second), the rig agent {rig_cpu:.1f} CPU-s"
        )

        # 2. paced
        paced_records = int(args.rate * args.seconds)
        rig = start_rig(procs, "rig-paced", broker, prefix, args.rate, paced_records)
        samples = wait_stored(central, base + paced_records, timeout=args.seconds * 10 + 60)
        paced_rate = sustained_rate(samples, base, paced_records)
        procs.stop(rig)
        stats = ingest_stats(central)
        lag = stats["capture_to_commit_ms_by_rig"]["rig-paced"]
        print(
            f"2. paced at {args.rate:,.0f}/s for {args.seconds:.0f} s: central kept "
            f"{paced_rate:,.0f} records/s; capture->commit p50 {lag['p50']:.1f} ms, "
            f"p99 {lag['p99']:.1f} ms, max {lag['max']:.1f} ms (last {lag['samples']} records)"
        )

        # 2b. paced, without the rig agent
        alone_rate, alone = paced_without_agent(central, broker, prefix, args.rate, paced_records)
        print(
            f"2b. paced at {args.rate:,.0f}/s by a paho publisher instead of the rig agent: "
            f"central kept {alone_rate:,.0f} records/s; capture->commit p50 {alone['p50']:.1f} "
            f"ms, p99 {alone['p99']:.1f} ms, max {alone['max']:.1f} ms"
        )

        # 3. live
        session_id = create_session(central, workdir)
        rig = start_rig(procs, "rig-live", broker, prefix, args.live_rate, None)
        wait_online(central, "rig-live")
        live = asyncio.run(watch_session(central, session_id, args.live_seconds))
        procs.stop(rig)
        live_p = percentiles(live)
        committed = ingest_stats(central)["capture_to_commit_ms_by_rig"]["rig-live"]
        print(
            f"3. live at {args.live_rate:,.0f}/s: {len(live)} detections over Socket.IO, "
            f"capture->client p50 {live_p['p50']:.1f} ms, p99 {live_p['p99']:.1f} ms, "
            f"max {live_p['max']:.1f} ms (this rig's capture->commit, all its records: p50 "
            f"{committed['p50']:.1f} ms, p99 {committed['p99']:.1f} ms)"
        )

        # baselines
        storage = storage_baseline(workdir, database_url, min(args.records, 100_000))
        transport = transport_baseline(broker, prefix, args.rate, min(args.seconds, 5))
        transport_live = transport_baseline(
            broker, prefix, args.live_rate, min(args.live_seconds, 5)
        )
        print("\nbaselines (same run, same machine):")
        print(
            f"   storage: plain executemany {storage:,.0f} records/s; "
            f"central/baseline = {saturated / storage:.2f}"
        )
        print(
            f"   transport at {args.rate:,.0f}/s: paho->paho p99 {transport['p99']:.1f} ms; "
            f"central p99 / baseline p99 = {lag['p99'] / transport['p99']:.1f}"
        )
        print(
            f"   transport at {args.live_rate:,.0f}/s: paho->paho p99 "
            f"{transport_live['p99']:.1f} ms; live p99 / baseline p99 = "
            f"{live_p['p99'] / transport_live['p99']:.1f}"
        )
        print(
            "\ngoals: >= 20,000 records/s with p99 <= 100 ms: "
            f"{'MET' if paced_rate >= 0.98 * args.rate >= 19_600 and lag['p99'] <= 100 else 'NOT MET'}"
            f"; live p99 <= 50 ms at 1,000/s: {'MET' if live_p['p99'] <= 50 else 'NOT MET'}"
        )
    finally:
        procs.close()


if __name__ == "__main__":
    main()
