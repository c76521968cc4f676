"""CAN frames (python-can), decoded with a DBC file (cantools) or a byte layout.

A supervised reader thread of our own calls ``bus.recv(timeout)``: python-can's ``Notifier``
lets its thread die silently when the bus raises, and capture must never stop unnoticed.

Where the stamp comes from depends on the interface:

- ``socketcan``: the frame is read from python-can's socket here (:mod:`._socketcan`), with the
  kernel's receive stamp on CLOCK_REALTIME in integer nanoseconds, moved onto the monotonic
  clock: ``kernel_realtime``. Frames the kernel dropped because the socket's receive queue was
  full (``SO_RXQ_OVFL``) are counted in ``drops``. An interface that goes down (``ip link set
  can0 down``, a controller restarting after bus-off) is reported as the channel's error while
  the socket stays open and bound, so the first frame after it comes up is not lost to a reopen.
- ``virtual`` (tests, benchmarks): ``msg.timestamp`` is the sender's ``time.time()`` at send,
  taken in user space, moved onto the monotonic clock: ``user_monotonic``.
- any other interface: the driver's timestamp base varies, so the frame is stamped in user space
  when ``recv`` returns: ``user_monotonic``.

Decoding yields named values: DBC signals of the frame, or the fields of ``layout``.
``signal_map`` names which of them are the detection fields (``vru_type``, ``confidence``,
``frame``, ``bbox_x``/``bbox_y``/``bbox_w``/``bbox_h``); ``vru_codes`` turns a numeric class into
a VRU type. Other values pass through under their own names, beside ``can_id``. The frame's bytes
are always kept as the capture's raw data.
"""

from __future__ import annotations

import errno
import logging
import struct
from pathlib import Path
from typing import Any, Literal

import can
import cantools
from cantools.database.errors import Error as CantoolsError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol import Clock, Source, VruType
from rig_agent.clock import RigClock
from rig_agent.sources._decoding import DecodingSource
from rig_agent.sources._fields import BBOX_PARTS, DECODE_ERROR, normalise_detection
from rig_agent.sources._reader import SupervisedReader, bound_switch_interval
from rig_agent.sources._socketcan import SocketcanReader
from rig_agent.sources._stamps import Stamp, kernel_realtime_stamp, user_stamp
from rig_agent.sources.base import CaptureSink, ChannelSettings, SourceUnavailable

__all__ = ["ByteField", "CanFilter", "CanSettings", "CanSource", "FrameDecoder"]

logger = logging.getLogger(__name__)

_RECV_TIMEOUT_S = 0.1
_STANDARD_ID_MAX = 0x7FF
_EXTENDED_ID_MAX = 0x1FFFFFFF
DETECTION_TARGETS = frozenset({"vru_type", "confidence", "frame", *BBOX_PARTS})

_FIELD_FORMATS = {
    "u8": "B",
    "i8": "b",
    "u16": "H",
    "i16": "h",
    "u32": "I",
    "i32": "i",
    "u64": "Q",
    "i64": "q",
    "f32": "f",
    "f64": "d",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CanFilter(_Strict):
    """Receive only frames whose id matches ``id`` on the bits set in ``mask``."""

    id: int = Field(ge=0, le=_EXTENDED_ID_MAX)
    mask: int | None = Field(
        default=None, ge=0, le=_EXTENDED_ID_MAX, description="default: every bit of the id"
    )
    extended: bool = False

    @model_validator(mode="after")
    def _check_width(self) -> CanFilter:
        if not self.extended and self.id > _STANDARD_ID_MAX:
            raise ValueError(f"CAN id 0x{self.id:X} needs 29 bits: set extended = true")
        return self

    def as_python_can(self) -> dict[str, Any]:
        full = _EXTENDED_ID_MAX if self.extended else _STANDARD_ID_MAX
        mask = full if self.mask is None else self.mask
        return {"can_id": self.id, "can_mask": mask, "extended": self.extended}


class ByteField(_Strict):
    """One value at a byte offset of the frame: ``value = raw * scale + bias``."""

    name: str = Field(min_length=1)
    offset: int = Field(ge=0, le=63)
    type: Literal["u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64"]
    byte_order: Literal["little", "big"] = "little"
    scale: float = 1.0
    bias: float = 0.0

    @property
    def struct(self) -> struct.Struct:
        return struct.Struct(
            ("<" if self.byte_order == "little" else ">") + _FIELD_FORMATS[self.type]
        )

    def read(self, data: bytes) -> int | float:
        fmt = self.struct
        if self.offset + fmt.size > len(data):
            raise ValueError(
                f"field {self.name!r} needs bytes {self.offset}..{self.offset + fmt.size - 1}"
                f" but the frame has {len(data)}"
            )
        raw: int | float = fmt.unpack_from(data, self.offset)[0]
        if self.scale == 1.0 and self.bias == 0.0:
            return raw
        return raw * self.scale + self.bias


class CanSettings(ChannelSettings):
    source: Literal[Source.CAN] = Source.CAN
    interface: str = Field(
        default="socketcan",
        min_length=1,
        description="python-can interface: socketcan, virtual, pcan, ...",
    )
    channel: str = Field(default="can0", min_length=1)
    bitrate: int | None = Field(default=None, gt=0, le=10_000_000)
    filters: tuple[CanFilter, ...] = ()
    dbc: Path | None = Field(default=None, description="DBC file whose signals decode the frames")
    message: str | None = Field(default=None, description="DBC message to decode (and filter on)")
    layout: tuple[ByteField, ...] | None = Field(
        default=None, description="byte layout, when there is no DBC file"
    )
    signal_map: dict[str, str] = Field(
        default_factory=dict, description="detection field -> DBC signal or layout field name"
    )
    vru_codes: dict[int, VruType] = Field(
        default_factory=dict, description="numeric class code -> VRU type"
    )

    @model_validator(mode="after")
    def _check_decoding(self) -> CanSettings:
        if self.dbc is not None and self.layout is not None:
            raise ValueError("give either dbc or layout, not both")
        if self.message is not None and self.dbc is None:
            raise ValueError("message names a DBC message: give the dbc file too")
        if self.layout is not None:
            names = [item.name for item in self.layout]
            if len(set(names)) != len(names):
                raise ValueError(f"layout field names repeat: {names}")
        unknown = set(self.signal_map) - DETECTION_TARGETS
        if unknown:
            raise ValueError(
                f"signal_map keys {sorted(unknown)} are not detection fields; use "
                f"{', '.join(sorted(DETECTION_TARGETS))}"
            )
        if self.layout is not None:
            missing = set(self.signal_map.values()) - {item.name for item in self.layout}
            if missing:
                raise ValueError(
                    f"signal_map names {sorted(missing)} that the layout does not have"
                )
        return self


class FrameDecoder:
    """Frame bytes -> ``decoded`` dict; never raises on a bad frame (it says why instead).

    :raises SourceUnavailable: at construction, when the DBC file or message cannot be used.
    """

    def __init__(self, settings: CanSettings) -> None:
        self._settings = settings
        self._database: Any = None
        self._message: Any = None
        if settings.dbc is not None:
            self._load_dbc(settings.dbc, settings.message)

    def _load_dbc(self, path: Path, message: str | None) -> None:
        try:
            self._database = cantools.database.load_file(str(path))
        except FileNotFoundError as exc:
            raise SourceUnavailable(f"DBC file {str(path)!r} does not exist") from exc
        except (CantoolsError, OSError, UnicodeDecodeError) as exc:
            raise SourceUnavailable(f"DBC file {str(path)!r} cannot be read: {exc}") from exc
        if message is not None:
            try:
                self._message = self._database.get_message_by_name(message)
            except KeyError:
                known = ", ".join(m.name for m in self._database.messages) or "none"
                raise SourceUnavailable(
                    f"DBC file {str(path)!r} has no message {message!r} (it has: {known})"
                ) from None
        signals = {s.name for m in self._selected_messages() for s in m.signals}
        missing = set(self._settings.signal_map.values()) - signals
        if missing:
            raise SourceUnavailable(
                f"signal_map names {sorted(missing)} that DBC file {str(path)!r} does not have"
            )

    def _selected_messages(self) -> list[Any]:
        return [self._message] if self._message is not None else list(self._database.messages)

    def filters(self) -> list[dict[str, Any]] | None:
        """python-can filters: the configured ones, else the DBC message's id, else none."""
        if self._settings.filters:
            return [f.as_python_can() for f in self._settings.filters]
        if self._message is not None:
            extended = bool(self._message.is_extended_frame)
            mask = _EXTENDED_ID_MAX if extended else _STANDARD_ID_MAX
            return [{"can_id": self._message.frame_id, "can_mask": mask, "extended": extended}]
        return None

    def decode(self, can_id: int, data: bytes) -> dict[str, Any]:
        try:
            values = self._values(can_id, data)
        except ValueError as exc:
            return {"can_id": can_id, DECODE_ERROR: str(exc)}
        decoded: dict[str, Any] = {"can_id": can_id}
        for target, name in self._settings.signal_map.items():
            if name in values:
                decoded[target] = values.pop(name)
        if "vru_type" in decoded and self._settings.vru_codes:
            code = decoded["vru_type"]
            if isinstance(code, int | float) and int(code) in self._settings.vru_codes:
                decoded["vru_type"] = self._settings.vru_codes[int(code)].value
        decoded.update(values)
        return normalise_detection(decoded)

    def _values(self, can_id: int, data: bytes) -> dict[str, Any]:
        if self._settings.layout is not None:
            return {item.name: item.read(data) for item in self._settings.layout}
        if self._database is None:
            return {}
        if self._message is not None and can_id != self._message.frame_id:
            raise ValueError(f"frame 0x{can_id:X} is not DBC message {self._message.name!r}")
        try:
            signals = self._database.decode_message(can_id, data, decode_choices=True)
        except KeyError:
            raise ValueError(f"frame 0x{can_id:X} is not in the DBC file") from None
        except (CantoolsError, ValueError) as exc:
            raise ValueError(f"frame 0x{can_id:X} does not decode: {exc}") from None
        # Choices come back as NamedSignalValue; keep their names so the record stays JSON.
        return {k: (v.name if hasattr(v, "name") else v) for k, v in signals.items()}


class CanSource(DecodingSource):
    kind = Source.CAN
    settings: CanSettings

    def __init__(self, settings: CanSettings, sink: CaptureSink, clock: RigClock) -> None:
        super().__init__(settings, sink, clock)
        self._bus: can.BusABC | None = None
        self._decoder: FrameDecoder | None = None
        self._reader: SupervisedReader | None = None
        self._kernel: SocketcanReader | None = None
        self._interface_down = False
        self.error_frames = 0
        """Error frames seen on the bus (reported by the controller; not signals)."""

    def _stamp_of(self, msg: can.Message) -> Stamp:
        if self.settings.interface == "virtual":
            realtime_ns = round(msg.timestamp * 1e9)
            mono_ns = self._clock.realtime_to_mono(realtime_ns)
            return Stamp(mono_ns, realtime_ns, Clock.USER_MONOTONIC)
        return user_stamp(self._clock)

    def probe(self) -> str:
        decoder = FrameDecoder(self.settings)
        self._open_bus(decoder).shutdown()
        return (
            f"can channel {self.name!r}: {self.settings.interface} {self.settings.channel} opened"
        )

    def _open(self) -> None:
        self._decoder = FrameDecoder(self.settings)
        self._bus = self._open_bus(self._decoder)
        self._kernel = self._kernel_reader(self._bus)
        if self.settings.interface not in ("socketcan", "virtual"):
            bound_switch_interval()
        self._reader = SupervisedReader(self, self._read_once, self._reopen)
        self._reader.start()

    def _close(self) -> None:
        if self._reader is not None:
            self._reader.stop()
            self._reader = None
        if self._bus is not None:
            self._bus.shutdown()
            self._bus = None
        self._kernel = None

    def _kernel_reader(self, bus: can.BusABC) -> SocketcanReader | None:
        sock = getattr(bus, "socket", None) if self.settings.interface == "socketcan" else None
        return SocketcanReader(sock) if sock is not None else None

    def _open_bus(self, decoder: FrameDecoder) -> can.BusABC:
        options: dict[str, Any] = {}
        if self.settings.bitrate is not None:
            options["bitrate"] = self.settings.bitrate
        where = f"{self.settings.interface} channel {self.settings.channel!r}"
        try:
            return can.Bus(
                interface=self.settings.interface,
                channel=self.settings.channel,
                can_filters=decoder.filters(),
                **options,
            )
        except can.CanInterfaceNotImplementedError as exc:
            raise SourceUnavailable(f"CAN {where}: interface not available here: {exc}") from exc
        except (can.CanError, OSError, ValueError) as exc:
            raise SourceUnavailable(
                f"CAN {where} cannot be opened: {exc} (is the interface up? "
                f"'ip link set {self.settings.channel} up type can bitrate <bitrate>')"
            ) from exc

    def _reopen(self) -> None:
        assert self._decoder is not None
        if self._bus is not None:
            self._bus.shutdown()
            self._bus = None
        self._kernel = None
        self._bus = self._open_bus(self._decoder)
        self._kernel = self._kernel_reader(self._bus)

    def _read_once(self) -> None:
        if self._kernel is not None:
            self._read_kernel_frame(self._kernel)
            return
        assert self._bus is not None
        msg = self._bus.recv(_RECV_TIMEOUT_S)
        if msg is None:
            return
        self._deliver_frame(
            self._stamp_of(msg), msg.arbitration_id, bytes(msg.data), msg.is_error_frame
        )

    def _read_kernel_frame(self, reader: SocketcanReader) -> None:
        try:
            frame = reader.read(_RECV_TIMEOUT_S)
        except OSError as exc:
            if exc.errno != errno.ENETDOWN:
                raise
            self._interface_down = True
            self._record_error(
                f"CAN interface {self.settings.channel} is down; frames resume when it is up"
            )
            return
        if frame is None:
            return
        if self._interface_down:
            self._interface_down = False
            self.last_error = None
            logger.info("channel %s: interface %s is up again", self.name, self.settings.channel)
        if frame.dropped:
            self.drops += frame.dropped
            logger.warning(
                "channel %s: the kernel dropped %d frame(s) on a full receive queue",
                self.name,
                frame.dropped,
            )
        stamp = (
            user_stamp(self._clock)
            if frame.realtime_ns is None
            else kernel_realtime_stamp(self._clock, frame.realtime_ns)
        )
        self._deliver_frame(stamp, frame.arbitration_id, frame.data, frame.is_error_frame)

    def _deliver_frame(self, stamp: Stamp, can_id: int, data: bytes, is_error: bool) -> None:
        assert self._decoder is not None
        if is_error:
            self.error_frames += 1
            logger.debug("channel %s: error frame 0x%X %s", self.name, can_id, data.hex())
            return
        decoded = self._decoder.decode(can_id, data)
        self._deliver(stamp.capture(self.name, data, False, decoded))
