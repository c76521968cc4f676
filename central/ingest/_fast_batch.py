"""The fast way to decode a record batch: msgspec structs, validated in C in the same pass.

pydantic's models (:mod:`protocol.messages`) stay the contract and say what is wrong with a bad
message. At ingest rates their validation costs most of central's CPU, so a record batch is
first decoded into the structs below, which accept nothing those models refuse; they refuse
some things pydantic takes (a number as text, an integer past 64 bits, a float for an
integer): :func:`decode_fast_batch` then returns ``None`` and the caller goes the pydantic way,
so a message is never refused here and never refused with another message than pydantic's.

The structs have the attribute names of the pydantic models (``record.seq``, ``.kind``,
``.payload.vru_type``...; enums as the same :class:`~enum.StrEnum`), so rows are built from
either alike.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from protocol import MAX_BATCH_RECORDS, MAX_MESSAGE_BYTES, Clock, Source, VruType

__all__ = [
    "FastBatch",
    "FastLatency",
    "FastPayload",
    "FastRecord",
    "FastSyncPayload",
    "decode_fast_batch",
]

# The pydantic patterns end in ``$``, which Rust's regex (pydantic's) reads as the very end;
# Python's ``re`` (msgspec's) lets a trailing newline through ``$``, hence ``\Z`` here.
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}\Z"
_HEX = r"^(?:[0-9a-f]{2})*\Z"

_Id = Annotated[str, msgspec.Meta(pattern=_ID)]
# pydantic's JSON parser refuses integers past 64 bits in some places and not in others: past
# them, pydantic decides (and the database refuses what it takes).
_INT64_MAX = 2**63 - 1
_Ns = Annotated[int, msgspec.Meta(ge=0, le=_INT64_MAX)]
_Hex = Annotated[str, msgspec.Meta(pattern=_HEX)]
_BBox = Annotated[list[float], msgspec.Meta(min_length=4, max_length=4)]


class FastPayload(msgspec.Struct, omit_defaults=True, gc=False):
    """:class:`protocol.DetectionPayload`; ``track_id`` as sent (a number becomes text, as
    there, in :func:`decode_fast_batch`). Fields in the order of the stored payload JSON."""

    vru_type: VruType | None = None
    bbox: _BBox | None = None
    confidence: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] | None = None
    frame: Annotated[int, msgspec.Meta(ge=0, le=_INT64_MAX)] | None = None
    track_id: str | Annotated[int, msgspec.Meta(ge=-_INT64_MAX - 1, le=_INT64_MAX)] | None = None
    raw_hex: _Hex | None = None
    raw_line: str | None = None
    fields: dict[str, Any] = msgspec.field(default_factory=dict)


class FastSyncPayload(msgspec.Struct, omit_defaults=True, gc=False):
    raw_hex: _Hex | None = None
    raw_line: str | None = None
    fields: dict[str, Any] = msgspec.field(default_factory=dict)


class _FastRecord(msgspec.Struct, tag_field="kind", kw_only=True, gc=False):
    seq: _Ns
    channel: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    source: Source
    t_mono_ns: _Ns
    t_wall_ns: _Ns
    clock: Clock
    session_id: _Id | None = None
    t_video_ms: float | None = None


class FastDetection(_FastRecord, tag="detection"):
    payload: FastPayload

    @property
    def kind(self) -> str:
        return "detection"


class FastLatency(_FastRecord, tag="latency"):
    payload: FastPayload
    stimulus_t_mono_ns: _Ns
    latency_ms: float
    stimulus_channel: str | None = None

    @property
    def kind(self) -> str:
        return "latency"


class FastSync(_FastRecord, tag="sync"):
    payload: FastSyncPayload = msgspec.field(default_factory=FastSyncPayload)

    @property
    def kind(self) -> str:
        return "sync"


FastRecord = FastDetection | FastLatency | FastSync


class FastBatch(msgspec.Struct, gc=False):
    v: Literal[1]
    rig_id: _Id
    stream: _Id
    records: Annotated[
        list[FastRecord],
        msgspec.Meta(min_length=1, max_length=MAX_BATCH_RECORDS),
    ]


_decoder = msgspec.json.Decoder(FastBatch)


def decode_fast_batch(payload: bytes) -> FastBatch | None:
    """The batch, or ``None`` when it must go the pydantic way (see the module's docstring)."""
    if len(payload) > MAX_MESSAGE_BYTES:
        return None  # refused as oversized, by the pydantic way's size check
    try:
        batch = _decoder.decode(payload)
    except msgspec.DecodeError:
        return None
    for record in batch.records:
        if not _model_checks_pass(record):
            return None
    return batch


def _model_checks_pass(record: FastRecord) -> bool:
    """The checks of the pydantic models' own validators, and ``track_id``'s conversion."""
    payload = record.payload
    if isinstance(payload, FastSyncPayload):
        return True
    if payload.raw_hex is None and payload.raw_line is None:
        return False
    bbox = payload.bbox
    if bbox is not None and (bbox[2] <= 0 or bbox[3] <= 0):
        return False
    track_id = payload.track_id
    if track_id is not None:
        if isinstance(track_id, int):
            payload.track_id = track_id = str(track_id)
        if not 1 <= len(track_id) <= 64:
            return False
    if isinstance(record, FastLatency):
        expected = (record.t_mono_ns - record.stimulus_t_mono_ns) / 1e6
        return abs(expected - record.latency_ms) <= 1e-3
    return True
