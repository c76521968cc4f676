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
figures is other people's work. On PostgreSQL the run works in a schema of its own in the
database of ``--database-url`` (dropped at the end), so runs never see each other's rows.

Mosquitto runs with deploy/mosquitto's queue and in-flight settings (persistence off, no auth), on
a free port. The rig agent flushes a batch at 100 records or after ``batch_linger_ms`` (5 ms here;
its default of 50 ms is sized for fewer, larger messages, and alone would take half the live
budget).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import uuid
from pathlib import Path

from _ingest_live import create_session, wait_online, watch_session
from _ingest_load import (
    FLOOD_BATCH,
    flood,
    ingest_stats,
    paced_without_agent,
    sustained_rate,
    wait_stored,
)
from _ingest_procs import (
    Processes,
    cpu_seconds,
    private_schema,
    start_central,
    start_mosquitto,
    start_rig,
)
from ingest_baselines import percentiles, storage_baselines, transport_baseline


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
    with private_schema(args.database_url or f"sqlite:///{workdir / 'central.sqlite3'}") as url:
        run(args, phases, workdir, url)


def run(args: argparse.Namespace, phases: set[str], workdir: Path, database_url: str) -> None:
    """The phases, then the baselines, then the goals met or not."""
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
