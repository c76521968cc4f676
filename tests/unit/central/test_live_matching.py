"""Live matching: each stored record gets its provisional verdict at once and goes to the
session's room with it; sync records set video time zero; unmonitored sessions stay quiet."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from central.demo.scenario import DEFAULT_SCENARIO as SCENARIO
from central.events import EventSink
from central.execution.live import PROGRESS_INTERVAL_S, LiveMatching
from central.matching import GroundTruth, MatchConfig

SYNC_NS = 7_000_000_000


class RecordingEvents(EventSink):
    """Stands in for the Socket.IO emitter: keeps what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Mapping[str, Any]]]] = []
        self.progress: list[tuple[str, dict[str, Any]]] = []

    def detections(self, test_session_id: str, events: Sequence[Mapping[str, Any]]) -> None:
        self.sent.append((test_session_id, list(events)))

    def session_progress(self, test_session_id: str, progress: Mapping[str, Any]) -> None:
        self.progress.append((test_session_id, dict(progress)))


def _ground_truth() -> GroundTruth:
    return GroundTruth.from_dicts(
        {
            "annotation_id": f"a{i:03d}",
            "detection_id": row["detectionId"],
            "frame": row["frameNumber"],
            "t_ms": row["timestamp"] * 1000.0,
            "vru_type": row["vruType"],
        }
        for i, row in enumerate(SCENARIO.annotations())
    )


def _rows() -> list[dict[str, Any]]:
    """The scenario as stored rows of rig ``r``: a sync record, then its detections (no
    ``t_video_ms``: their video time must come from the sync record)."""
    sync = {"id": "e000", "rig_id": "r", "seq": 0, "kind": "sync", "t_mono_ns": SYNC_NS}
    detections = [
        {
            "id": f"e{i:03d}",
            "rig_id": "r",
            "seq": i,
            "kind": "detection",
            "t_mono_ns": SYNC_NS + int(s.at_ms * 1e6),
            "t_video_ms": None,
            "vru_type": str(s.vru_type),
            "payload": {"raw_line": "x"},
        }
        for i, s in enumerate(SCENARIO.signals, start=1)
    ]
    stimulus = {
        "id": "e100",
        "rig_id": "r",
        "seq": 100,
        "kind": "detection",
        "t_mono_ns": SYNC_NS,
        "t_video_ms": 0.0,
        "payload": {"raw_line": "m", "fields": {"role": "stimulus"}},
    }
    return [sync, *detections, stimulus]


def _run(monitored: bool) -> tuple[RecordingEvents, LiveMatching, list[dict[str, Any]]]:
    realtime = RecordingEvents()
    live = LiveMatching(realtime)
    synced: list[tuple[str, int]] = []
    live.on_sync = lambda session_id, ns: synced.append((session_id, ns))

    async def scenario() -> list[dict[str, Any]]:
        live.open(
            "s1",
            "r",
            _ground_truth(),
            MatchConfig(tolerance_ms=SCENARIO.tolerance_ms),
            duration_s=10.0,
            monitored=monitored,
        )
        verdicts = live.judge("s1", _rows())
        await asyncio.sleep(PROGRESS_INTERVAL_S + 0.05)
        return verdicts

    verdicts = asyncio.run(scenario())
    assert synced == [("s1", SYNC_NS)]
    return realtime, live, verdicts


def test_records_are_judged_in_video_time_from_the_sync_record_and_sent_with_verdicts() -> None:
    realtime, live, verdicts = _run(monitored=True)
    assert [v["match_type"] for v in verdicts] == ["TP", "FP", "TP", "repeat", "TP", "FP", "TP"]
    assert [v["t_video_ms"] for v in verdicts] == [s.at_ms for s in SCENARIO.signals]
    tp_latencies = [v["latency_ms"] for v in verdicts if v["match_type"] == "TP"]
    assert tp_latencies == pytest.approx(list(SCENARIO.expected().latencies_ms))
    (sent,) = realtime.sent
    assert sent == ("s1", verdicts), "the stimulus marker and the sync record are not sent"
    (progress,) = realtime.progress
    assert progress[1]["truePositives"] == 4 and progress[1]["records"] == 7
    assert live.latencies_ms("s1") == pytest.approx(tp_latencies)


def test_an_unmonitored_session_is_judged_but_nothing_is_sent() -> None:
    realtime, live, verdicts = _run(monitored=False)
    assert len(verdicts) == len(SCENARIO.signals)
    assert realtime.sent == [] and realtime.progress == []
    progress = live.progress("s1")
    assert progress is not None and progress["truePositives"] == 4


def test_records_of_sessions_not_open_are_ignored() -> None:
    realtime = RecordingEvents()
    live = LiveMatching(realtime)
    assert live.judge("nope", _rows()) == []
    assert live.progress("nope") is None and live.latencies_ms("nope") is None
    assert realtime.sent == []
