"""Live matching: a provisional verdict for every record of a running session as it is stored.

Registered as an ingest listener (and fed by the HTTP detection endpoint), it keeps one
:class:`~central.matching.ProvisionalMatcher` per running session, judges each new
record, tells the dashboard through the :class:`~central.events.EventSink` (``detection_event``,
coalesced there) and sends a provisional score as ``session_progress``, at most a few times a
second. The final verdict is always the one-pass recompute at stop.

A session's first sync record from its own rig sets video time zero when the start reply did
not already give it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from central.events import EventSink
from central.execution.loading import is_judged, signals_from_rows
from central.execution.steps import LiveInputs
from central.matching import GroundTruth, MatchConfig, ProvisionalMatcher
from central.throttle import Throttle

__all__ = ["PROGRESS_INTERVAL_S", "LiveMatching", "LiveSession"]

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.25
"""Least time between two ``session_progress`` events of one session."""


@dataclass(slots=True)
class LiveSession:
    session_id: str
    rig_id: str
    matcher: ProvisionalMatcher
    duration_s: float | None
    monitored: bool = True
    """``enable_realtime_monitoring``: send records and scores to Socket.IO as they come."""
    sync_mono_ns: int | None = None
    started_monotonic: float = field(default_factory=time.monotonic)
    records: int = 0
    last_arrival: float | None = None
    """``time.monotonic()`` when the latest record of the session was judged."""
    latencies_ms: list[float] = field(default_factory=list)
    """Latencies of the provisional true positives so far."""


class LiveMatching:
    """Provisional verdicts of the running sessions of this process."""

    def __init__(self, events: EventSink) -> None:
        self._events = events
        self._progress: Throttle[str, None] = Throttle(self._send_progress, PROGRESS_INTERVAL_S)
        self._sessions: dict[str, LiveSession] = {}
        self.on_sync: Callable[[str, int], None] | None = None
        """Called when a sync record sets a session's video time zero."""

    def open(
        self,
        session_id: str,
        rig_id: str,
        ground_truth: GroundTruth,
        config: MatchConfig,
        *,
        duration_s: float | None,
        monitored: bool = True,
        sync_mono_ns: int | None = None,
    ) -> None:
        """Begin judging the session's records; ``monitored=False`` judges them without sending
        anything to Socket.IO (the provisional score is still served by the results endpoints).

        :raises ValueError: the ground truth cannot be matched in the config's mode.
        """
        self._sessions[session_id] = LiveSession(
            session_id=session_id,
            rig_id=rig_id,
            matcher=ProvisionalMatcher(ground_truth, config),
            duration_s=duration_s,
            monitored=monitored,
            sync_mono_ns=sync_mono_ns,
        )

    def reopen(self, inputs: LiveInputs) -> None:
        """Open a session that ran before (in another process, or on another central) and
        replay its stored records, without sending anything, so that new ones are judged
        against everything before.

        :raises ValueError: as :meth:`open`.
        """
        session, config = inputs.session, inputs.session.execution_config
        self.open(
            session.id,
            session.rig_id,
            inputs.ground_truth,
            inputs.rules,
            duration_s=inputs.duration_s,
            monitored=config is None or config.enable_realtime_monitoring,
            sync_mono_ns=session.sync_mono_ns,
        )
        self.judge(session.id, inputs.extra, emit=False)

    async def settle(self, session_id: str, quiet_s: float, max_s: float) -> None:
        """Wait for records in flight: until none arrived for ``quiet_s`` (from now), or
        ``max_s`` at most."""
        begin = time.monotonic()
        deadline = begin + max_s
        while True:
            now = time.monotonic()
            last = max(self.last_arrival(session_id) or begin, begin)
            remaining = last + quiet_s - now
            if remaining <= 0 or now >= deadline:
                return
            await asyncio.sleep(min(remaining, deadline - now))

    def close(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)
        self._progress.discard(session_id)

    def is_open(self, session_id: str) -> bool:
        return session_id in self._sessions

    def set_sync(self, session_id: str, sync_mono_ns: int | None) -> None:
        live = self._sessions.get(session_id)
        if live is not None and sync_mono_ns is not None:
            live.sync_mono_ns = sync_mono_ns

    def unknown(self, session_id: str, record_ids: Sequence[str]) -> list[str]:
        """The ids among ``record_ids`` the session's live matcher has not judged yet."""
        live = self._sessions.get(session_id)
        if live is None:
            return []
        return [rid for rid in record_ids if not live.matcher.knows(rid)]

    def needs_sync(self, session_id: str) -> bool:
        live = self._sessions.get(session_id)
        return live is not None and live.sync_mono_ns is None

    def synced(self, session_id: str, sync_mono_ns: int) -> None:
        """A sync record set the session's video time zero (unless one did before)."""
        live = self._sessions.get(session_id)
        if live is None or live.sync_mono_ns is not None:
            return
        live.sync_mono_ns = sync_mono_ns
        logger.info("session %s: video time zero at %d ns", session_id, sync_mono_ns)
        if self.on_sync is not None:
            self.on_sync(session_id, sync_mono_ns)

    def last_arrival(self, session_id: str) -> float | None:
        live = self._sessions.get(session_id)
        return live.last_arrival if live is not None else None

    def latencies_ms(self, session_id: str) -> list[float] | None:
        """Provisional TP latencies, or None when the session is not live."""
        live = self._sessions.get(session_id)
        return list(live.latencies_ms) if live is not None else None

    def progress(self, session_id: str) -> dict[str, Any] | None:
        """The running provisional score (camelCase), or None when the session is not live."""
        live = self._sessions.get(session_id)
        if live is None:
            return None
        elapsed = time.monotonic() - live.started_monotonic
        fraction = min(elapsed / live.duration_s, 1.0) if live.duration_s else None
        return {
            **live.matcher.snapshot(),
            "provisional": True,
            "records": live.records,
            "elapsedS": round(elapsed, 3),
            "durationS": live.duration_s,
            "progress": fraction,
        }

    async def on_batch(self, batch: Any) -> None:
        """Ingest listener: ``batch.events`` are newly stored ``detection_events`` rows."""
        by_session: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for row in batch.events:
            session_id = row.get("test_session_id")
            if session_id in self._sessions:
                by_session[session_id].append(row)
        for session_id, rows in by_session.items():
            self.judge(session_id, rows)

    def judge(
        self, session_id: str, rows: Sequence[Mapping[str, Any]], *, emit: bool = True
    ) -> list[dict[str, Any]]:
        """Judge stored rows of one session; return (and, with ``emit``, send) one verdict dict
        per record. ``emit=False`` replays records judged before, to restore the state."""
        live = self._sessions.get(session_id)
        if live is None:
            return []
        if live.sync_mono_ns is None:
            syncs = [r for r in rows if r["kind"] == "sync" and r["rig_id"] == live.rig_id]
            if syncs:
                self.synced(session_id, int(min(syncs, key=lambda r: r["seq"])["t_mono_ns"]))
        # A record may come twice: from this central's ingest and from the database (peers).
        matched = [r for r in rows if is_judged(r) and not live.matcher.knows(r["id"])]
        if not matched:
            return []
        signals = signals_from_rows(matched, live.rig_id, live.sync_mono_ns)
        try:
            verdicts = live.matcher.add(signals)
        except ValueError as exc:
            logger.warning("session %s: records not judged live: %s", session_id, exc)
            return []
        live.records += len(matched)
        latency = verdicts.latency_ms
        live.latencies_ms.extend(latency[~np.isnan(latency)].tolist())
        live.last_arrival = time.monotonic()
        events = [
            _event(row, t_video, verdict)
            for row, t_video, verdict in zip(
                matched, signals.t_video_ms.tolist(), verdicts.to_rows(), strict=True
            )
        ]
        if emit and live.monitored:
            self._events.detections(session_id, events)
            self._progress.add(session_id, [None])
        return events

    def _send_progress(self, session_id: str, _batches: list[None]) -> None:
        """Scored when sent, not per batch: a score costs percentiles over every latency."""
        progress = self.progress(session_id)
        if progress is not None:
            self._events.session_progress(session_id, progress)


def _event(row: Mapping[str, Any], t_video_ms: float, verdict: Mapping[str, Any]) -> dict[str, Any]:
    """One ``detection_event`` entry: the record as stored (the fields of every detection
    message) with its video time as matched and its provisional verdict."""
    return {
        "id": row["id"],
        "test_session_id": row.get("test_session_id"),
        "rig_id": row["rig_id"],
        "stream": row.get("stream"),
        "seq": row.get("seq"),
        "kind": row["kind"],
        "channel": row.get("channel"),
        "source": row.get("source"),
        "clock": row.get("clock"),
        "t_mono_ns": row.get("t_mono_ns"),
        "t_wall_ns": row.get("t_wall_ns"),
        "t_video_ms": None if np.isnan(t_video_ms) else t_video_ms,
        "vru_type": row.get("vru_type"),
        "bbox": row.get("bbox"),
        "confidence": row.get("confidence"),
        "frame_number": row.get("frame_number"),
        "match_type": verdict["match_type"],
        "ground_truth_id": verdict["annotation_id"],
        "latency_ms": verdict["latency_ms"],
        "iou": verdict["iou"],
        "provisional": True,
    }
