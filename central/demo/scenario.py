"""The demo's test case: a short video's ground truth and the signals a simulated model sends.

Everything here is pure data, built so the verdict is known before anything runs: each scripted
signal says what it is meant to be (a true positive with a chosen latency, a repeat, a false
positive) and sits far enough from every match window edge that scheduling jitter of a real rig
process cannot change the outcome. One ground-truth event is never signalled, so it is a miss.

Times are video milliseconds (``t_video_ms``), frames 0-based at the scenario's frame rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from protocol import VruType

__all__ = [
    "DEFAULT_SCENARIO",
    "DemoScenario",
    "ExpectedResults",
    "Intent",
    "ScriptedSignal",
    "Track",
]

SAFE_MARGIN_MS = 150.0
"""Least distance between a scripted signal and a match window edge it must not cross."""


class Intent(StrEnum):
    """What a scripted signal is meant to be judged as."""

    TRUE_POSITIVE = "TP"
    REPEAT = "repeat"
    FALSE_POSITIVE = "FP"


@dataclass(frozen=True, slots=True)
class Track:
    """One ground-truth event: a VRU visible from ``first_frame`` to ``last_frame`` inclusive.

    Its box moves linearly from ``start_box`` to ``end_box`` (``[x, y, w, h]`` pixels).
    """

    detection_id: str
    vru_type: VruType
    first_frame: int
    last_frame: int
    start_box: tuple[float, float, float, float]
    end_box: tuple[float, float, float, float]
    occluded: bool = False
    truncated: bool = False
    difficult: bool = False

    def box_at(self, frame: int) -> tuple[float, float, float, float]:
        if not self.first_frame <= frame <= self.last_frame:
            raise ValueError(f"track {self.detection_id} is not visible in frame {frame}")
        span = max(self.last_frame - self.first_frame, 1)
        f = (frame - self.first_frame) / span
        return tuple(  # type: ignore[return-value]
            round(a + (b - a) * f, 2) for a, b in zip(self.start_box, self.end_box, strict=True)
        )


@dataclass(frozen=True, slots=True)
class ScriptedSignal:
    """A signal the simulated model sends ``at_ms`` after video time zero."""

    at_ms: float
    intent: Intent
    vru_type: VruType
    confidence: float
    track: str | None = None
    """The ground-truth event it is meant to hit (None for a false positive)."""
    bbox: tuple[float, float, float, float] | None = None
    frame: int | None = None


@dataclass(frozen=True, slots=True)
class ExpectedResults:
    true_positives: int
    false_positives: int
    false_negatives: int
    repeats: int
    latencies_ms: tuple[float, ...]
    """Latency of each true positive, in signal order, as scripted (before any rig jitter)."""

    @property
    def precision(self) -> float:
        return self.true_positives / (self.true_positives + self.false_positives)

    @property
    def recall(self) -> float:
        return self.true_positives / (self.true_positives + self.false_negatives)

    @property
    def accuracy(self) -> float:
        total = self.true_positives + self.false_positives + self.false_negatives
        return self.true_positives / total


@dataclass(frozen=True, slots=True)
class DemoScenario:
    fps: float
    frame_count: int
    width: int
    height: int
    tracks: tuple[Track, ...]
    signals: tuple[ScriptedSignal, ...]
    tolerance_ms: float
    max_latency_ms: float
    min_accuracy: float
    tail_ms: float = 500.0
    """How long the session runs past the last signal before it stops by duration."""

    @property
    def duration_ms(self) -> float:
        return self.frame_count * 1000.0 / self.fps

    @property
    def session_duration_s(self) -> float:
        last = max((s.at_ms for s in self.signals), default=0.0)
        return round(max(last, self.duration_ms) / 1000.0 + self.tail_ms / 1000.0, 3)

    def frame_time_ms(self, frame: int) -> float:
        return frame * 1000.0 / self.fps

    def track(self, detection_id: str) -> Track:
        for track in self.tracks:
            if track.detection_id == detection_id:
                return track
        raise KeyError(detection_id)

    def window_ms(self, track: Track) -> tuple[float, float]:
        """The temporal match window of an event: onset and offset widened by the tolerance."""
        return (
            self.frame_time_ms(track.first_frame) - self.tolerance_ms,
            self.frame_time_ms(track.last_frame) + self.tolerance_ms,
        )

    def annotations(self) -> list[dict[str, Any]]:
        """Ground truth as the annotation API takes it: one box per track per frame."""
        rows: list[dict[str, Any]] = []
        for track in self.tracks:
            for frame in range(track.first_frame, track.last_frame + 1):
                x, y, w, h = track.box_at(frame)
                rows.append(
                    {
                        "detectionId": track.detection_id,
                        "frameNumber": frame,
                        "timestamp": round(self.frame_time_ms(frame) / 1000.0, 6),
                        "vruType": str(track.vru_type),
                        "boundingBox": {"x": x, "y": y, "width": w, "height": h},
                        "occluded": track.occluded,
                        "truncated": track.truncated,
                        "difficult": track.difficult,
                    }
                )
        return rows

    def expected(self) -> ExpectedResults:
        """The verdict the scenario is built to produce, read off each signal's intent."""
        hit = [s for s in self.signals if s.intent is Intent.TRUE_POSITIVE]
        hit_tracks = {s.track for s in hit}
        return ExpectedResults(
            true_positives=len(hit),
            false_positives=sum(s.intent is Intent.FALSE_POSITIVE for s in self.signals),
            false_negatives=sum(t.detection_id not in hit_tracks for t in self.tracks),
            repeats=sum(s.intent is Intent.REPEAT for s in self.signals),
            latencies_ms=tuple(
                round(s.at_ms - self.frame_time_ms(self.track(s.track).first_frame), 3)
                for s in hit
                if s.track is not None
            ),
        )


def _signal(
    tracks: dict[str, Track], fps: float, at_ms: float, intent: Intent, track_id: str, conf: float
) -> ScriptedSignal:
    track = tracks[track_id]
    frame = min(max(round(at_ms * fps / 1000.0), track.first_frame), track.last_frame)
    return ScriptedSignal(
        at_ms=at_ms,
        intent=intent,
        vru_type=track.vru_type,
        confidence=conf,
        track=track_id,
        bbox=track.box_at(frame),
        frame=frame,
    )


def _build_default() -> DemoScenario:
    fps = 10.0
    tracks = (
        Track("ped-1", VruType.PEDESTRIAN, 5, 14, (10, 50, 14, 34), (60, 52, 14, 34)),
        Track("cyc-1", VruType.CYCLIST, 20, 29, (124, 40, 30, 30), (70, 44, 30, 30), occluded=True),
        Track("moto-1", VruType.MOTORCYCLIST, 35, 42, (20, 60, 34, 26), (110, 58, 34, 26)),
        Track("wheel-1", VruType.WHEELCHAIR_USER, 48, 55, (100, 64, 22, 24), (80, 64, 22, 24)),
        Track("scoot-1", VruType.SCOOTER_RIDER, 61, 68, (30, 44, 16, 32), (120, 44, 16, 32)),
    )
    by_id = {t.detection_id: t for t in tracks}
    signals = (
        _signal(by_id, fps, 580.0, Intent.TRUE_POSITIVE, "ped-1", 0.91),
        ScriptedSignal(
            1700.0, Intent.FALSE_POSITIVE, VruType.PEDESTRIAN, 0.42, None, (120, 10, 12, 30), 17
        ),
        _signal(by_id, fps, 2120.0, Intent.TRUE_POSITIVE, "cyc-1", 0.84),
        _signal(by_id, fps, 2600.0, Intent.REPEAT, "cyc-1", 0.80),
        _signal(by_id, fps, 3650.0, Intent.TRUE_POSITIVE, "moto-1", 0.88),
        ScriptedSignal(
            4500.0, Intent.FALSE_POSITIVE, VruType.CYCLIST, 0.37, None, (5, 5, 20, 20), 45
        ),
        _signal(by_id, fps, 6190.0, Intent.TRUE_POSITIVE, "scoot-1", 0.79),
    )
    return DemoScenario(
        fps=fps,
        frame_count=72,
        width=160,
        height=120,
        tracks=tracks,
        signals=signals,
        tolerance_ms=100.0,
        max_latency_ms=200.0,
        min_accuracy=0.5,
    )


DEFAULT_SCENARIO = _build_default()
"""Five events of five VRU types in 7.2 s at 10 fps; 4 hits, 1 repeat, 2 false alarms, 1 miss."""
