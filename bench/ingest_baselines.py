"""The loads and baselines of ``bench/ingest.py``: record batches as a rig sends them, and what
the database and the broker do with the same rows and batches when central is not in between.

- storage: the same rows inserted by plain ``executemany`` (``INSERT .. ON CONFLICT DO NOTHING``)
  into the same kind of database, and on PostgreSQL also a raw ``COPY`` of them straight into
  ``detection_events``, one transaction per batch as central commits them (no staging, no
  dedupe, no MQTT, no validation): the most the database takes from one client;
- transport: paho publishing the same record batches (QoS 1) to a paho subscriber through the
  same broker, capture to arrival, at a paced rate, with no central in between.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from central.db.migrate import upgrade
from central.db.types import new_ids
from central.ingest._rows import detection_event_row
from protocol import (
    DetectionPayload,
    DetectionRecord,
    assemble_batch,
    decode_batch,
    encode_record,
)

__all__ = [
    "BATCH",
    "percentiles",
    "publish_paced",
    "sample_batches",
    "storage_baselines",
    "transport_baseline",
]

BATCH = 100
"""Records per batch of the rig agent and of the paced publisher."""

_COMMIT_ROWS = 1000
"""Rows per transaction of the storage baselines: central's largest batch."""


def percentiles(values: list[float] | np.ndarray) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return {"p50": float("nan"), "p99": float("nan")}
    p50, p99 = np.percentile(array, [50, 99])
    return {"p50": float(p50), "p99": float(p99), "max": float(array.max())}


def sample_batches(
    records: int,
    session_id: str | None = None,
    *,
    rig_id: str = "bench-rig",
    stream: str = "baseline",
    batch: int = BATCH,
) -> list[bytes]:
    payload = DetectionPayload(
        vru_type="pedestrian", bbox=(412, 220, 64, 150), confidence=0.91, frame=30, raw_hex="00"
    )
    batches = []
    for start in range(0, records, batch):
        seqs = range(start, min(records, start + batch))
        encoded = _encoded_detections(seqs, payload, "detections", session_id)
        batches.append(assemble_batch(rig_id, stream, encoded))
    return batches


def _encoded_detections(
    seqs: range, payload: DetectionPayload, channel: str, session_id: str | None = None
) -> list[bytes]:
    """Detection records as the rig spools them, stamped now."""
    return [
        encode_record(
            DetectionRecord(
                seq=seq,
                session_id=session_id,
                channel=channel,
                source="simulated",
                t_mono_ns=seq,
                t_wall_ns=time.time_ns(),
                clock="user_monotonic",
                payload=payload,
            )
        )
        for seq in seqs
    ]


def _baseline_rows(records: int, sqlite: bool) -> list[dict[str, Any]]:
    """Rows of :func:`sample_batches` as central stores them, JSON already encoded."""
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for batch in sample_batches(records):
        decoded = decode_batch(batch)
        stream = f"baseline-{uuid.uuid4().hex[:6]}"
        rows.extend(
            detection_event_row(row_id, "bench-rig", stream, r, None, now)
            for row_id, r in zip(new_ids(len(decoded.records)), decoded.records, strict=True)
        )
    for row in rows:
        row["bbox"] = orjson.dumps(row["bbox"]).decode()
        row["payload"] = orjson.dumps(row["payload"]).decode()
        row["received_at"] = now.replace(tzinfo=None) if sqlite else now
    return rows


def storage_baselines(workdir: Path, database_url: str, records: int) -> dict[str, float]:
    """Records/s of a plain executemany (and, on PostgreSQL, of a raw COPY) of the same rows,
    into an empty database of the same kind."""
    sqlite = database_url.startswith("sqlite")
    url = f"sqlite:///{workdir / 'baseline.sqlite3'}" if sqlite else database_url
    upgrade(url)
    rows = _baseline_rows(records, sqlite)
    columns = list(rows[0])
    sql = text(
        f"INSERT INTO detection_events ({', '.join(columns)}) VALUES "
        f"({', '.join(':' + c for c in columns)}) ON CONFLICT (rig_id, stream, seq) DO NOTHING"
    )
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        for start in range(0, len(rows), _COMMIT_ROWS):
            connection.execute(sql, rows[start : start + _COMMIT_ROWS])
    rates = {"executemany": records / (time.perf_counter() - started)}
    engine.dispose()
    if not sqlite:
        for row, row_id in zip(rows, new_ids(len(rows)), strict=True):
            row["id"] = row_id
            row["stream"] += "-copy"
        rates["copy"] = _copy_baseline(url, columns, rows)
    return rates


def _copy_baseline(url: str, columns: list[str], rows: list[dict[str, Any]]) -> float:
    """Raw COPY into ``detection_events``, one transaction per batch of rows."""
    parsed = make_url(url)
    options = str(parsed.query.get("options", ""))
    conninfo = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    values = [tuple(row[c] for c in columns) for row in rows]
    copy_sql = f"COPY detection_events ({', '.join(columns)}) FROM STDIN"
    with psycopg.connect(conninfo, options=options) as connection:
        started = time.perf_counter()
        for start in range(0, len(values), _COMMIT_ROWS):
            with (
                connection.transaction(),
                connection.cursor() as cursor,
                cursor.copy(copy_sql) as copy,
            ):
                for row in values[start : start + _COMMIT_ROWS]:
                    copy.write_row(row)
        return len(values) / (time.perf_counter() - started)


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


def publish_paced(publish: Callable[[bytes], Any], rate: float, records: int, rig_id: str) -> None:
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
        encoded = _encoded_detections(range(first, min(records, first + per_batch)), payload, "d")
        publish(assemble_batch(rig_id, "baseline", encoded))
