"""Turn captures into numbered, encoded wire records: session, video time and latency pairing.

This is the pure part of the spool writer (no threads, no I/O), so its rules are unit-tested
directly:

* A capture belongs to the running session when its channel is armed and it was stamped at or
  after the session's start (and before its end, when a duration was given); otherwise its
  ``session_id`` is null. Every capture becomes a record either way.
* Video time zero is the start command itself, or the first signal on the session's sync channel.
  ``t_video_ms = (t_mono_ns - sync_ns) / 1e6`` for session records once it is known, else null.
* Sync channels give ``sync`` records; detection channels give ``detection`` records. Stimulus
  channels give ``detection`` records marked ``fields.role = "stimulus"``, because wire format v1
  has no stimulus kind. A detection stamped within ``window_ns`` after a stimulus also yields a
  ``latency`` record against the latest such stimulus.
* Each record is encoded once, here; a payload whose decoded fields do not validate keeps its raw
  bytes and says what was wrong in ``fields.decode_error`` instead of being lost.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
from pydantic import ValidationError

from protocol import (
    Clock,
    DetectionRecord,
    LatencyRecord,
    Record,
    Source,
    SyncPayload,
    SyncRecord,
    encode_record,
)
from rig_agent.sources import Capture, ChannelRole

__all__ = ["COMMAND_SYNC_CHANNEL", "MAX_RAW_BYTES", "ChannelInfo", "RecordBuilder", "SessionSpec"]

logger = logging.getLogger(__name__)

COMMAND_SYNC_CHANNEL = "command"
"""Channel named by the sync record emitted when the start command itself is video time zero."""

_KNOWN_FIELDS = ("vru_type", "bbox", "confidence", "frame")
MAX_RAW_BYTES = 64 * 1024
"""Raw bytes kept per record; the full length goes to ``fields.raw_bytes`` when cut."""
_STIMULUS_MEMORY = 256


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    role: ChannelRole
    source: Source


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """A session as the start command set it up, stamped on the rig clock."""

    session_id: str
    start_ns: int
    start_wall_ns: int
    armed: frozenset[str]
    sync_channel: str | None = None
    """None: the start command is video time zero."""
    end_ns: int | None = None
    """Set from ``duration_s``; captures stamped at or after it are outside the session."""


@dataclass(slots=True)
class _Active:
    spec: SessionSpec
    sync_ns: int | None = None


class RecordBuilder:
    """Assigns ``seq`` from :attr:`next_seq` and returns ``(seq, encoded record)`` pairs."""

    def __init__(self, channels: Mapping[str, ChannelInfo], window_ns: int, next_seq: int) -> None:
        self.channels = dict(channels)
        self.window_ns = window_ns
        self.next_seq = next_seq
        self._active: _Active | None = None
        self._stimuli: list[tuple[int, str]] = []

    @property
    def session(self) -> SessionSpec | None:
        return self._active.spec if self._active is not None else None

    @property
    def sync_ns(self) -> int | None:
        return self._active.sync_ns if self._active is not None else None

    def start(self, spec: SessionSpec) -> list[tuple[int, bytes]]:
        """Begin a session; when the command is video time zero, emit its sync record now."""
        self._active = _Active(spec)
        if spec.sync_channel is not None:
            return []
        self._active.sync_ns = spec.start_ns
        record = SyncRecord(
            seq=self.next_seq,
            session_id=spec.session_id,
            channel=COMMAND_SYNC_CHANNEL,
            source=Source.NETWORK,
            t_mono_ns=spec.start_ns,
            t_wall_ns=spec.start_wall_ns,
            clock=Clock.USER_MONOTONIC,
            t_video_ms=0.0,
            payload=SyncPayload(fields={"sync": "start_command"}),
        )
        return [self._number(record)]

    def stop(self, session_id: str, stop_ns: int) -> None:
        """End the session at ``stop_ns``; captures stamped before it still belong to it."""
        active = self._active
        if active is None or active.spec.session_id != session_id:
            return
        end_ns = stop_ns if active.spec.end_ns is None else min(active.spec.end_ns, stop_ns)
        active.spec = replace(active.spec, end_ns=end_ns)

    def _number(self, record: Record) -> tuple[int, bytes]:
        seq = self.next_seq
        self.next_seq += 1
        return seq, encode_record(record)

    def _session_of(self, capture: Capture) -> _Active | None:
        active = self._active
        if active is None or capture.channel not in active.spec.armed:
            return None
        if capture.t_mono_ns < active.spec.start_ns:
            return None
        if active.spec.end_ns is not None and capture.t_mono_ns >= active.spec.end_ns:
            return None
        return active

    def build(self, capture: Capture) -> list[tuple[int, bytes]]:
        """The records of one capture, numbered from :attr:`next_seq`.

        :raises KeyError: for a channel that is not configured.
        :raises ValueError: for stamps a record cannot carry (negative, say). Either way no
            ``seq`` is used up, so a refused capture never leaves a gap.
        """
        first_seq = self.next_seq
        try:
            return self._build(capture)
        except Exception:
            self.next_seq = first_seq
            raise

    def _build(self, capture: Capture) -> list[tuple[int, bytes]]:
        info = self.channels[capture.channel]
        if len(capture.raw) > MAX_RAW_BYTES:
            # A runaway line (no newline for minutes) must not make an undeliverable record.
            decoded = {**capture.decoded, "raw_bytes": len(capture.raw)}
            capture = replace(capture, raw=capture.raw[:MAX_RAW_BYTES], decoded=decoded)
        active = self._session_of(capture)
        if (
            active is not None
            and active.sync_ns is None
            and active.spec.sync_channel == capture.channel
        ):
            active.sync_ns = capture.t_mono_ns
        envelope: dict[str, Any] = {
            "seq": self.next_seq,
            "session_id": active.spec.session_id if active is not None else None,
            "channel": capture.channel,
            "source": info.source,
            "t_mono_ns": capture.t_mono_ns,
            "t_wall_ns": capture.t_wall_ns,
            "clock": capture.clock,
            "t_video_ms": (
                (capture.t_mono_ns - active.sync_ns) / 1e6
                if active is not None and active.sync_ns is not None
                else None
            ),
        }
        # Whole records are validated from plain dicts: one pass through pydantic-core per record
        # instead of one per nested model, which matters at tens of thousands of records/s.
        if info.role is ChannelRole.SYNC:
            raw_hex, raw_line = _raw(capture)
            payload = {
                "raw_hex": raw_hex,
                "raw_line": raw_line,
                "fields": _jsonable(capture.decoded),
            }
            return [self._number(SyncRecord.model_validate({**envelope, "payload": payload}))]
        is_stimulus = info.role is ChannelRole.STIMULUS
        detection = _detection(envelope, _payload(capture, is_stimulus), capture.channel)
        out = [self._number(detection)]
        if is_stimulus:
            self._remember_stimulus(capture)
            return out
        stimulus = self._stimulus_before(capture.t_mono_ns)
        if stimulus is not None:
            stimulus_ns, stimulus_channel = stimulus
            latency = LatencyRecord(
                **{**envelope, "seq": self.next_seq},
                payload=detection.payload,
                stimulus_channel=stimulus_channel,
                stimulus_t_mono_ns=stimulus_ns,
                latency_ms=(capture.t_mono_ns - stimulus_ns) / 1e6,
            )
            out.append(self._number(latency))
        return out

    def _remember_stimulus(self, capture: Capture) -> None:
        # Sources run in their own threads, so stimuli may arrive slightly out of stamp order.
        bisect.insort(self._stimuli, (capture.t_mono_ns, capture.channel))
        if len(self._stimuli) > _STIMULUS_MEMORY:
            del self._stimuli[0]

    def _stimulus_before(self, t_ns: int) -> tuple[int, str] | None:
        for stimulus_ns, channel in reversed(self._stimuli):
            if stimulus_ns <= t_ns:
                return (stimulus_ns, channel) if t_ns - stimulus_ns <= self.window_ns else None
        return None


def _raw(capture: Capture) -> tuple[str | None, str | None]:
    """``(raw_hex, raw_line)``: text sources keep their line, binary ones their bytes."""
    if capture.raw_is_text:
        return None, capture.raw.decode("utf-8", errors="replace")
    return capture.raw.hex(), None


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` if JSON can carry it, else its repr: a source's odd value never loses a record."""
    if not values:
        return values
    try:
        orjson.dumps(values)
    except TypeError:
        return {"decoded_repr": repr(values)}
    return values


def _payload(capture: Capture, is_stimulus: bool) -> dict[str, Any]:
    """A detection payload as plain data: raw bytes or line, known fields, the rest in fields."""
    decoded = capture.decoded
    raw_hex, raw_line = _raw(capture)
    payload: dict[str, Any] = {"raw_hex": raw_hex, "raw_line": raw_line}
    rest: dict[str, Any] = {}
    if decoded:
        payload.update((key, decoded[key]) for key in _KNOWN_FIELDS if key in decoded)
        rest = _jsonable({key: value for key, value in decoded.items() if key not in _KNOWN_FIELDS})
    if is_stimulus:
        rest = {**rest, "role": "stimulus"}
    payload["fields"] = rest
    return payload


def _detection(envelope: dict[str, Any], payload: dict[str, Any], channel: str) -> DetectionRecord:
    """Validate a detection; decoded fields that do not validate go to ``fields.decode_error``."""
    try:
        return DetectionRecord.model_validate({**envelope, "payload": payload})
    except ValidationError as exc:
        problem = next(
            (e for e in exc.errors(include_url=False) if e["loc"][:1] == ("payload",)), None
        )
        if problem is None:
            raise  # the stamps themselves are wrong: the writer refuses and counts the capture
        where = ".".join(str(part) for part in problem["loc"][1:])
        message = f"{where}: {problem['msg']}" if where else problem["msg"]
        logger.debug("channel %s: decoded fields rejected (%s)", channel, message)
        known = {key: payload[key] for key in _KNOWN_FIELDS if key in payload}
        fallback = {
            "raw_hex": payload["raw_hex"],
            "raw_line": payload["raw_line"],
            "fields": {
                **payload["fields"],
                **_jsonable({"decoded": known}),
                "decode_error": message,
            },
        }
        return DetectionRecord.model_validate({**envelope, "payload": fallback})
