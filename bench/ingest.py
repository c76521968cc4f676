"""Central ingest benchmark: rig-agent, Mosquitto and central as real processes on this machine.

    .venv/bin/python bench/ingest.py [--records 200000] [--rate 20000] [--seconds 10]
                                     [--flood-records 300000] [--live-rate 1000]
                                     [--live-seconds 10] [--database-url URL]

1. Saturation: the rig agent's simulated channel emits ``--records`` records as fast as it can;
   central's sustained records/s is measured from the commits (records stored between the 10 %
   and 90 % marks over the time between them).
   1b. ``--flood-records`` records pre-encoded in batches of 500, published by paho (QoS 1) as
   fast as the broker takes them, so only central's CPU limits the rate; central's CPU time per
   record is taken from /proc over this phase. Goal: >= 50,000 records/s, >= 0.5 of the raw
   COPY baseline on PostgreSQL, <= 15 us of CPU per record.
2. Paced: the rig emits at ``--rate`` for ``--seconds``; central reports each record's time from
   capture (the rig's wall clock) to the commit that stored it: p50/p99.
   Goal: at least 20,000 records/s with p99 <= 150 ms.
   2b. The same load published by paho in this process instead of the rig agent (whose own CPU
   use competes with central's on a small machine).
3. Live: a test session started through central (``POST /api/test-sessions/{id}/start``, which
   commands the rig), the rig emitting at ``--live-rate``; a python-socketio client in room
   ``test_session_{id}`` takes each ``detection_event`` record's time from capture to arrival
   (records go through ingest, live matching and the coalescing of ``central.realtime.server``).
   Goal: p99 <= 50 ms at 1,000 records/s.

Baselines, measured in the same run on the same machine (see ``ingest_baselines``): storage by
plain executemany and, on PostgreSQL, by raw COPY of the same rows; transport paho to paho.
The load average is printed before and after: on a shared machine it says how much of the
figures is other people's work.

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
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import socketio
from ingest_baselines import (
    BATCH,
    percentiles,
    publish_paced,
    sample_batches,
    storage_baselines,
    transport_baseline,
)
from paho.mqtt.enums import CallbackAPIVersion

from central.db.migrate import upgrade
from central.demo.synthetic_video import write_synthetic_video
from central.ingest.broker import free_port
from protocol import RigStatus, Topics, encode

BIN = Path(sys.executable).parent
FLOOD_BATCH = 500

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
        lags.extend((now - d["tWallNs"]) / 1e6 for d in data["detections"])

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
    parser.add_argument("--flood-records", type=int, default=300_000)
    parser.add_argument("--live-rate", type=float, default=1_000)
    parser.add_argument("--live-seconds", type=float, default=10)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument(
        "--phases", default="1,1b,2,2b,3", help="comma-separated phases to run (baselines always)"
    )
    args = parser.parse_args()
    phases = set(args.phases.split(","))

    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'central.sqlite3'}"
    procs = Processes(workdir)
    prefix = f"bench/{uuid.uuid4().hex[:8]}"
    goals: list[str] = []
    try:
        broker = start_mosquitto(procs)
        central = start_central(procs, broker, prefix, database_url)
        print(f"broker {broker}, central {central}, database {database_url.split('@')[-1]}")
        print(f"{os.cpu_count()} CPUs, {load_average()}")
        print(f"logs in {workdir}")

        central_process = procs.children[1]
        flooded = saturated = None
        lag: dict[str, float] | None = None

        if "1" in phases:
            cpu_before = cpu_seconds(central_process)
            rig = start_rig(procs, "rig-saturation", broker, prefix, 10_000_000, args.records)
            base = ingest_stats(central)["records_stored"]
            samples = wait_stored(central, base + args.records, timeout=300)
            saturated = sustained_rate(samples, base, args.records)
            central_cpu = cpu_seconds(central_process) - cpu_before
            rig_cpu = cpu_seconds(rig)
            procs.stop(rig)
            print(
                f"\n1. saturation: {args.records} records, sustained {saturated:,.0f} records/s; "
                f"central used {central_cpu:.1f} CPU-s ({args.records / central_cpu:,.0f} "
                f"records per CPU-second), the rig agent {rig_cpu:.1f} CPU-s"
            )

        if "1b" in phases:
            flooded, us_per_record = flood(
                central, central_process, broker, prefix, args.flood_records
            )
            print(
                f"1b. saturation by paho, {args.flood_records} records in batches of "
                f"{FLOOD_BATCH}: sustained {flooded:,.0f} records/s; central used "
                f"{us_per_record:.1f} us of CPU per record"
            )
            goals.append(f"paho saturation >= 50,000/s: {_met(flooded >= 50_000)}")
            goals.append(f"CPU per record <= 15 us: {_met(us_per_record <= 15)}")

        if "2" in phases:
            paced_records = int(args.rate * args.seconds)
            base = ingest_stats(central)["records_stored"]
            rig = start_rig(procs, "rig-paced", broker, prefix, args.rate, paced_records)
            samples = wait_stored(central, base + paced_records, timeout=args.seconds * 10 + 60)
            paced_rate = sustained_rate(samples, base, paced_records)
            procs.stop(rig)
            lag = ingest_stats(central)["capture_to_commit_ms_by_rig"]["rig-paced"]
            print(
                f"2. paced at {args.rate:,.0f}/s for {args.seconds:.0f} s: central kept "
                f"{paced_rate:,.0f} records/s; capture->commit p50 {lag['p50']:.1f} ms, "
                f"p99 {lag['p99']:.1f} ms, max {lag['max']:.1f} ms (last {lag['samples']} "
                "records)"
            )
            kept = paced_rate >= 0.98 * args.rate >= 19_600
            goals.append(
                f">= 20,000 records/s from a rig agent with p99 <= 150 ms: "
                f"{_met(kept and lag['p99'] <= 150)}"
            )

        if "2b" in phases:
            paced_records = int(args.rate * args.seconds)
            alone_rate, alone = paced_without_agent(
                central, broker, prefix, args.rate, paced_records
            )
            print(
                f"2b. paced at {args.rate:,.0f}/s by a paho publisher instead of the rig agent: "
                f"central kept {alone_rate:,.0f} records/s; capture->commit p50 "
                f"{alone['p50']:.1f} ms, p99 {alone['p99']:.1f} ms, max {alone['max']:.1f} ms"
            )

        live_p: dict[str, float] | None = None
        if "3" in phases:
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
                f"max {live_p['max']:.1f} ms (this rig's capture->commit, all its records: "
                f"p50 {committed['p50']:.1f} ms, p99 {committed['p99']:.1f} ms)"
            )
            goals.append(f"live p99 <= 50 ms at 1,000/s: {_met(live_p['p99'] <= 50)}")
        print(f"after the phases: {load_average()}")

        storage = storage_baselines(workdir, database_url, min(args.records, 100_000))
        print("\nbaselines (same run, same machine):")
        for name, rate in storage.items():
            ratios = [
                f"{label}/baseline = {value / rate:.2f}"
                for label, value in (("rig saturation", saturated), ("paho saturation", flooded))
                if value is not None
            ]
            print(f"   storage: {name} {rate:,.0f} records/s; {'; '.join(ratios)}")
        if "copy" in storage and flooded is not None:
            goals.append(
                f"paho saturation >= 0.5 of raw COPY: {_met(flooded / storage['copy'] >= 0.5)}"
            )
        if lag is not None:
            transport = transport_baseline(broker, prefix, args.rate, min(args.seconds, 5))
            print(
                f"   transport at {args.rate:,.0f}/s: paho->paho p99 {transport['p99']:.1f} ms; "
                f"central p99 / baseline p99 = {lag['p99'] / transport['p99']:.1f}"
            )
        if live_p is not None:
            transport_live = transport_baseline(
                broker, prefix, args.live_rate, min(args.live_seconds, 5)
            )
            print(
                f"   transport at {args.live_rate:,.0f}/s: paho->paho p99 "
                f"{transport_live['p99']:.1f} ms; live p99 / baseline p99 = "
                f"{live_p['p99'] / transport_live['p99']:.1f}"
            )
        print("\ngoals: " + "; ".join(goals))
    finally:
        procs.close()


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f}"


def _met(condition: bool) -> str:
    return "MET" if condition else "NOT MET"


if __name__ == "__main__":
    main()
