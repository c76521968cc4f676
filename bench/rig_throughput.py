"""Rig agent benchmarks: records/s from capture to PUBACK, and the agent's CPU when idle.

    .venv/bin/python bench/rig_throughput.py [--broker mqtt://127.0.0.1:1883] [--records 200000]
                                             [--idle-seconds 10]

Throughput: the real daemon (in this process, on a thread) with a simulated channel emitting as
fast as it can; the clock runs from READY (sources started) until the last record was
acknowledged by the broker and deleted from the spool. Baseline, measured in the same run: raw
paho publishing the same records, pre-encoded into batches of 100, with the same in-flight
window and no spool. Goal: at least 50,000 records/s. Wall-clock rates move with whatever else
the machine runs, so the script also prints the load average and the agent's CPU time per record
(all threads), which does not.

Idle CPU: the daemon as its own process with one channel of every source kind (GPIO on gpiozero's
mock pins, CAN on python-can's virtual bus, serial on pyserial's loop://, UDP on loopback, and
simulated sync, stimulus and detection channels), all armed by a start command, sampled from
/proc over ``--idle-seconds``. Baseline: a bare paho client connected to the same broker and doing
nothing. Goal: under 1 % of a core.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from protocol import Clock, Source, Topics, assemble_batch
from rig_agent.config import parse_config
from rig_agent.daemon import Daemon
from rig_agent.records import ChannelInfo, RecordBuilder
from rig_agent.sources import Capture, ChannelRole
from rig_agent.systemd import Notifier

BATCH = 100
WINDOW = 32


class _ReadyClock(Notifier):
    """Notes when the daemon says READY (its sources have started)."""

    def __init__(self) -> None:
        super().__init__({})
        self.ready_at: float | None = None

    def ready(self, status: str = "") -> bool:
        if self.ready_at is None:
            self.ready_at = time.monotonic()
        return False


def _sample_batches(records: int, rig_id: str) -> tuple[str, list[bytes]]:
    """The records the agent would send, encoded as it encodes them, joined into batches."""
    builder = RecordBuilder({"det": ChannelInfo(ChannelRole.DETECTION, Source.SIMULATED)}, 10**9, 0)
    encoded: list[bytes] = []
    now = time.monotonic_ns()
    for i in range(records):
        capture = Capture("det", now + i, now + i, Clock.USER_MONOTONIC, str(i).encode(), True)
        encoded.extend(data for _, data in builder.build(capture))
    stream = uuid.uuid4().hex
    return stream, [
        assemble_batch(rig_id, stream, encoded[i : i + BATCH]) for i in range(0, records, BATCH)
    ]


def baseline_paho(host: str, port: int, prefix: str, records: int) -> float:
    """Records/s of raw paho publishing pre-encoded batches at QoS 1 (no spool, no encoding)."""
    rig_id = "bench-baseline"
    _, batches = _sample_batches(records, rig_id)
    acked = threading.Semaphore(0)
    connected = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(WINDOW)
    client.max_queued_messages_set(0)
    client.on_connect = lambda *args: connected.set()
    client.on_publish = lambda *args: acked.release()
    client.connect(host, port)
    client.loop_start()
    connected.wait(5)
    topic = Topics(prefix).records(rig_id)
    started = time.monotonic()
    for payload in batches:
        client.publish(topic, payload, qos=1)
    for _ in batches:
        acked.acquire()
    elapsed = time.monotonic() - started
    client.disconnect()
    client.loop_stop()
    return records / elapsed


def agent_throughput(
    url: str, prefix: str, records: int, workdir: Path
) -> tuple[float, float, int]:
    """Records/s of the daemon from capture to PUBACK, CPU µs per record, and refused records."""
    config = parse_config(
        {
            "rig_id": "bench-agent",
            "mqtt": {"url": url, "topic_prefix": prefix, "max_inflight_batches": WINDOW},
            "spool": {"path": str(workdir / "throughput.db"), "max_mb": 4096},
            "status": {"interval_s": 60},
            "channels": [
                {"name": "det", "source": "simulated", "rate_hz": 10_000_000, "count": records}
            ],
        }
    )
    notifier = _ReadyClock()
    daemon = Daemon(config, notifier=notifier)
    thread = threading.Thread(target=daemon.run, name="bench-daemon", daemon=True)
    thread.start()
    while notifier.ready_at is None:
        time.sleep(0.001)
    cpu_started = time.process_time()
    # The bench reads the daemon's parts directly: it measures them, it does not drive them.
    while True:
        writer = getattr(daemon, "_writer", None)
        publisher = getattr(daemon, "_publisher", None)
        spool = getattr(daemon, "_spool", None)
        if writer and publisher and spool:
            captured = writer.committed.get("det", 0) + writer.refused_total
            if captured >= records and spool.depth == 0 and not publisher.inflight:
                break
        time.sleep(0.002)
    elapsed = time.monotonic() - notifier.ready_at
    cpu_us = (time.process_time() - cpu_started) / records * 1e6
    daemon.request_stop()
    thread.join(30)
    return (records - writer.refused_total) / elapsed, cpu_us, writer.refused_total


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _idle_share(pid: int, seconds: float) -> float:
    before, started = _cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (_cpu_seconds(pid) - before) / (time.monotonic() - started)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _toml(value: object) -> str:
    return orjson.dumps(value).decode() if not isinstance(value, bool) else str(value).lower()


def agent_idle_cpu(url: str, prefix: str, seconds: float, workdir: Path) -> float:
    """Share of one core used by an idle daemon process with every channel armed."""
    channels: list[dict[str, object]] = [
        {"name": "sync", "role": "sync", "source": "simulated"},
        {"name": "marker", "role": "stimulus", "source": "simulated"},
        {"name": "det-sim", "source": "simulated"},
        {"name": "det-gpio", "source": "gpio", "pin": 17, "pin_factory": "mock"},
        {"name": "det-can", "source": "can", "interface": "virtual", "channel": "bench"},
        {"name": "det-serial", "source": "serial", "port": "loop://"},
        {
            "name": "det-udp",
            "source": "network",
            "protocol": "udp",
            "listen": f"127.0.0.1:{_free_udp_port()}",
        },
    ]
    lines = [
        'rig_id = "bench-idle"',
        "[mqtt]",
        f"url = {_toml(url)}",
        f"topic_prefix = {_toml(prefix)}",
        "[spool]",
        f"path = {_toml(str(workdir / 'idle.db'))}",
    ]
    for channel in channels:
        lines += ["[[channels]]"] + [f"{key} = {_toml(value)}" for key, value in channel.items()]
    config_path = workdir / "idle.toml"
    config_path.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "rig_agent", "run", "--config", str(config_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 1883
        replies = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        client.on_message = lambda *args: replies.set()
        client.connect(host, port)
        client.loop_start()
        topics = Topics(prefix)
        client.subscribe(topics.replies("bench-idle"), qos=1)
        time.sleep(3)  # startup, then the first heartbeat
        start = {"v": 1, "command": "start", "command_id": "bench", "session_id": "idle"}
        client.publish(topics.commands("bench-idle"), orjson.dumps(start), qos=1)
        if not replies.wait(10):
            raise RuntimeError("the agent did not answer the start command")
        client.disconnect()
        client.loop_stop()
        time.sleep(1)
        if process.poll() is not None:
            raise RuntimeError(f"the agent exited with {process.returncode}")
        return _idle_share(process.pid, seconds)
    finally:
        process.terminate()
        process.wait(15)


def baseline_idle_cpu(url: str, seconds: float) -> float:
    """Share of one core used by a bare, connected, idle paho client process."""
    parts = urlsplit(url)
    code = (
        "import time, paho.mqtt.client as m\n"
        "from paho.mqtt.enums import CallbackAPIVersion as V\n"
        f"c = m.Client(V.VERSION2); c.connect({parts.hostname!r}, {parts.port or 1883}, 30)\n"
        "c.loop_start(); time.sleep(3600)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(2)
        return _idle_share(process.pid, seconds)
    finally:
        process.terminate()
        process.wait(5)


def clear_retained(host: str, port: int, prefix: str, rig_ids: list[str]) -> None:
    """Delete the retained statuses the bench's rigs left on the broker."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect(host, port)
    client.loop_start()
    for rig_id in rig_ids:
        client.publish(Topics(prefix).status(rig_id), b"", qos=1, retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    args = parser.parse_args()
    parts = urlsplit(args.broker)
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883
    prefix = f"bench/{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"broker {args.broker}, {args.records} records, batches of {BATCH}, window {WINDOW}")
        print(f"machine: {os.cpu_count()} cores, load average {load}")
        raw = baseline_paho(host, port, prefix, args.records)
        print(f"baseline  raw paho, pre-encoded batches:  {raw:>10,.0f} records/s")
        agent, cpu_us, refused = agent_throughput(args.broker, prefix, args.records, workdir)
        print(
            f"agent     capture -> spool -> PUBACK:     {agent:>10,.0f} records/s"
            f"  ({agent / raw:.2f} x baseline; goal >= 50,000/s: "
            f"{'met' if agent >= 50_000 else 'NOT met'}; refused {refused})"
        )
        # Independent of other load on the machine: what one record costs the agent's process.
        print(
            f"agent     CPU per record (all threads):   {cpu_us:>10.1f} µs"
            f"  (= {1e6 / cpu_us:,.0f} records per CPU-second)"
        )
        bare = baseline_idle_cpu(args.broker, args.idle_seconds)
        idle = agent_idle_cpu(args.broker, prefix, args.idle_seconds, workdir)
        print(f"baseline  idle bare paho client:          {bare * 100:>9.3f} % of a core")
        # /proc counts CPU in clock ticks (10 ms): over 10 s, 0.1 % is the resolution.
        ratio = f"{idle / bare:.1f} x baseline" if bare else "baseline below resolution"
        print(
            f"agent     idle, 7 channels armed:         {idle * 100:>9.3f} % of a core"
            f"  ({ratio}; goal < 1 %: {'met' if idle < 0.01 else 'NOT met'})"
        )
    clear_retained(host, port, prefix, ["bench-agent", "bench-idle"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
