"""Encode and decode wire messages with orjson; refuse bad payloads with the field at fault.

The rig agent encodes each record once, when it spools it, and later joins stored records into a
batch with :func:`assemble_batch`, so a retry never pays for encoding again.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from protocol.errors import MalformedMessage, UnsupportedVersion
from protocol.messages import (
    WIRE_VERSION,
    Command,
    CommandReply,
    Record,
    RecordBatch,
    RigStatus,
    SessionResults,
    StreamAck,
)
from protocol.topics import validate_id

__all__ = [
    "MAX_MESSAGE_BYTES",
    "assemble_batch",
    "decode",
    "decode_ack",
    "decode_batch",
    "decode_command",
    "decode_record",
    "decode_reply",
    "decode_results",
    "decode_status",
    "encode",
    "encode_record",
]

MAX_MESSAGE_BYTES = 1024 * 1024
"""Largest payload accepted; a full batch of 1,000 records is well under this."""

M = TypeVar("M", bound=BaseModel)

_record_adapter: TypeAdapter[Record] = TypeAdapter(Record)
_command_adapter: TypeAdapter[Command] = TypeAdapter(Command)


def encode(message: BaseModel) -> bytes:
    """Serialise any wire model to compact JSON bytes."""
    return orjson.dumps(message.model_dump(mode="json"))


def encode_record(record: Record) -> bytes:
    return orjson.dumps(record.model_dump(mode="json"))


def assemble_batch(rig_id: str, stream: str, encoded_records: list[bytes]) -> bytes:
    """Join records already encoded by :func:`encode_record` into one record batch payload."""
    if not encoded_records:
        raise ValueError("a batch holds at least one record")
    head = orjson.dumps(
        {"v": WIRE_VERSION, "rig_id": validate_id(rig_id, "rig_id"), "stream": stream}
    )
    return head[:-1] + b',"records":[' + b",".join(encoded_records) + b"]}"


def _load(data: bytes | str, *, versioned: bool = True) -> Any:
    if len(data) > MAX_MESSAGE_BYTES:
        raise MalformedMessage(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES} bytes")
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedMessage(f"not valid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise MalformedMessage(f"expected a JSON object, got {type(obj).__name__}")
    if versioned:
        if "v" not in obj:
            raise MalformedMessage("field required", field="v")
        if obj["v"] != WIRE_VERSION:
            raise UnsupportedVersion(obj["v"])
    return obj


def _validation_error(exc: ValidationError) -> MalformedMessage:
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"])
    return MalformedMessage(first["msg"], field=field)


def decode(data: bytes | str, model: type[M]) -> M:
    """Parse ``data`` as ``model``; raise :class:`MalformedMessage` or :class:`UnsupportedVersion`.

    A good message is parsed and validated in one pass by pydantic's own JSON parser (about
    half the cost of ``orjson.loads`` and validating the dicts, which matters at ingest rates).
    Anything that pass refuses, a message without ``v``, and one that may hold ``NaN`` or
    ``Infinity`` (which pydantic's parser takes and JSON does not) go the long way, which says
    exactly what is wrong with them.
    """
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) <= MAX_MESSAGE_BYTES and b"NaN" not in raw and b"Infinity" not in raw:
        try:
            message = model.model_validate_json(data)
        except ValidationError:
            pass
        else:
            if "v" in message.model_fields_set:
                return message
    obj = _load(data)
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise _validation_error(exc) from exc


def decode_batch(data: bytes | str) -> RecordBatch:
    return decode(data, RecordBatch)


def decode_status(data: bytes | str) -> RigStatus:
    return decode(data, RigStatus)


def decode_ack(data: bytes | str) -> StreamAck:
    return decode(data, StreamAck)


def decode_reply(data: bytes | str) -> CommandReply:
    return decode(data, CommandReply)


def decode_results(data: bytes | str) -> SessionResults:
    return decode(data, SessionResults)


def decode_command(data: bytes | str) -> Command:
    obj = _load(data)
    try:
        return _command_adapter.validate_python(obj)
    except ValidationError as exc:
        raise _validation_error(exc) from exc


def decode_record(data: bytes | str) -> Record:
    """Parse one record as stored by :func:`encode_record` (records carry no ``v`` of their own)."""
    obj = _load(data, versioned=False)
    try:
        return _record_adapter.validate_python(obj)
    except ValidationError as exc:
        raise _validation_error(exc) from exc
