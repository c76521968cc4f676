"""Decode one MQTT message of a rig topic into a wire model, or a reason to refuse it."""

from __future__ import annotations

from dataclasses import dataclass

from central.ingest._fast_batch import FastBatch, decode_fast_batch
from central.ingest._rows import DeadLetterReason, Refusal, refusal_for
from protocol import (
    CommandReply,
    ProtocolError,
    RecordBatch,
    RigStatus,
    TopicKind,
    Topics,
    decode_batch,
    decode_reply,
    decode_status,
)

__all__ = ["Decoded", "decode_message"]


@dataclass(frozen=True, slots=True)
class Decoded:
    """Exactly one of ``batch``, ``status``, ``reply`` and ``refusal`` is set, or none of them
    for a message that is deliberately skipped (a retained status being cleared, a command or
    an ack that central itself sent)."""

    topic: str
    payload: bytes
    rig_id: str | None
    batch: RecordBatch | FastBatch | None = None
    """A record batch decoded the fast way (see :mod:`central.ingest._fast_batch`) when it can be."""
    status: RigStatus | None = None
    reply: CommandReply | None = None
    refusal: Refusal | None = None
    retained: bool = False
    """Delivered from the broker's retained store (on subscribing), not published just now: a
    retained status is no heartbeat."""


def decode_message(topics: Topics, topic: str, payload: bytes, retained: bool = False) -> Decoded:
    """Parse the topic and payload; every failure comes back as a :class:`Refusal`."""
    rig_id: str | None = None
    try:
        parsed = topics.parse(topic)
        rig_id = parsed.rig_id
        if parsed.kind is TopicKind.STATUS:
            if not payload:
                return Decoded(topic, payload, rig_id)  # a retained status being cleared
            status = decode_status(payload)
            _check_rig(rig_id, status.rig_id)
            return Decoded(topic, payload, rig_id, status=status, retained=retained)
        if parsed.kind is TopicKind.RECORDS:
            batch = decode_fast_batch(payload) or decode_batch(payload)
            _check_rig(rig_id, batch.rig_id)
            return Decoded(topic, payload, rig_id, batch=batch)
        if parsed.kind is TopicKind.REPLIES:
            reply = decode_reply(payload)
            if reply.rig_id is not None:
                _check_rig(rig_id, reply.rig_id)
            return Decoded(topic, payload, rig_id, reply=reply)
        if parsed.kind in (TopicKind.COMMANDS, TopicKind.ACKS):
            return Decoded(topic, payload, rig_id)  # central's own messages to a rig
        refusal = Refusal(
            DeadLetterReason.UNKNOWN_TOPIC, f"central does not consume {parsed.kind} topics", rig_id
        )
    except ProtocolError as exc:
        refusal = refusal_for(exc, len(payload), rig_id)
    except Refusal as exc:
        refusal = exc
    return Decoded(topic, payload, rig_id, refusal=refusal)


def _check_rig(topic_rig_id: str | None, payload_rig_id: str) -> None:
    """A rig may publish only under its own id: the topic and the payload must agree."""
    if topic_rig_id != payload_rig_id:
        raise Refusal(
            DeadLetterReason.RIG_MISMATCH,
            f"topic names rig {topic_rig_id!r} but the payload says {payload_rig_id!r}",
            topic_rig_id,
        )
