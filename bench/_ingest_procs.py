"""The processes of ``bench/ingest.py``: Mosquitto, central and rig agents as children of the
bench, on free ports, and a PostgreSQL schema of the run's own."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
from ingest_baselines import BATCH
from sqlalchemy.engine import make_url

from central.db.migrate import upgrade
from central.ingest.broker import free_port

__all__ = [
    "Processes",
    "cpu_seconds",
    "private_schema",
    "start_central",
    "start_mosquitto",
    "start_rig",
]


BIN = Path(sys.executable).parent

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


@contextmanager
def private_schema(database_url: str) -> Iterator[str]:
    """On PostgreSQL, a schema of this run's own in the database of ``database_url`` (a URL
    whose connections work inside it), dropped at the end; SQLite URLs pass through."""
    if not database_url.startswith("postgresql"):
        yield database_url
        return
    url = make_url(database_url)
    schema = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    conninfo = url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
