"""Text lines from a byte stream or datagram: settings, splitting, stamping and decoding.

Shared by the serial and network sources. Formats:

- ``json``: one JSON object per line.
- ``csv``: one row per line; ``columns`` names the values in order.
- ``regex``: ``pattern`` is searched in the line; its named groups are the values.
- ``raw``: the line is kept and nothing is decoded.

Detection fields are checked by :func:`~rig_agent.sources._fields.normalise_detection`; csv and
regex values of other names stay strings, as they were sent.

A line that does not decode is still delivered: its raw text (or bytes, when it is not UTF-8) is
kept on the capture and ``decoded`` holds only ``decode_error`` with the reason, so nothing the
system under test sent is lost and the reason reaches the record. Blank lines carry nothing and
are skipped.
"""

from __future__ import annotations

import csv
import logging
import re
from enum import StrEnum
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, Field, model_validator

from rig_agent.sources._fields import DECODE_ERROR, normalise_detection
from rig_agent.sources._stamps import Stamp
from rig_agent.sources.base import Capture

__all__ = [
    "MAX_LINE_BYTES",
    "LineAssembler",
    "LineDecoder",
    "LineFormat",
    "LineFormatSettings",
    "line_capture",
]

logger = logging.getLogger(__name__)

MAX_LINE_BYTES = 65536
"""A line longer than this is delivered in pieces of this size (a device that never sends a
newline must not grow the buffer without bound)."""


class LineFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    REGEX = "regex"
    RAW = "raw"


class LineFormatSettings(BaseModel):
    """How a channel's lines are decoded; mixed into the serial and network settings."""

    format: LineFormat = LineFormat.JSON
    columns: tuple[str, ...] | None = Field(
        default=None, description="csv: the name of each value, in order"
    )
    delimiter: str = Field(default=",", min_length=1, max_length=1, description="csv delimiter")
    pattern: str | None = Field(
        default=None, description="regex: searched in each line; named groups become values"
    )

    @model_validator(mode="after")
    def _check_format(self) -> LineFormatSettings:
        if self.format is LineFormat.CSV:
            if not self.columns:
                raise ValueError("format 'csv' needs columns, e.g. columns = ['frame', 'vru_type']")
            if any(not name for name in self.columns):
                raise ValueError("csv columns must have non-empty names")
            if len(set(self.columns)) != len(self.columns):
                raise ValueError(f"csv columns repeat a name: {list(self.columns)}")
        elif self.columns is not None:
            raise ValueError(f"columns are only used with format 'csv', not {self.format.value!r}")
        if self.format is LineFormat.REGEX:
            if not self.pattern:
                raise ValueError(
                    "format 'regex' needs a pattern with named groups, e.g. "
                    "pattern = '(?P<vru_type>\\w+) (?P<confidence>[0-9.]+)'"
                )
            try:
                compiled = re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r} is not a valid regex: {exc}") from None
            if not compiled.groupindex:
                raise ValueError(f"pattern {self.pattern!r} has no named group (?P<name>...)")
        elif self.pattern is not None:
            raise ValueError(f"pattern is only used with format 'regex', not {self.format.value!r}")
        return self


class LineDecoder:
    """Decodes one line of text into a capture's ``decoded`` dict; never raises on bad input."""

    def __init__(self, settings: LineFormatSettings) -> None:
        self._settings = settings
        self._pattern = re.compile(settings.pattern) if settings.pattern else None

    def decode(self, text: str) -> dict[str, Any]:
        try:
            values = self._values(text)
        except ValueError as exc:
            return {DECODE_ERROR: str(exc)}
        return normalise_detection(values) if values else {}

    def _values(self, text: str) -> dict[str, Any]:
        match self._settings.format:
            case LineFormat.JSON:
                try:
                    value = orjson.loads(text)
                except orjson.JSONDecodeError as exc:
                    raise ValueError(f"not JSON: {exc}") from None
                if not isinstance(value, dict):
                    raise ValueError(  # noqa: TRY004 - bad input is reported, not raised to callers
                        f"JSON line is a {type(value).__name__}, not an object"
                    )
                return value
            case LineFormat.CSV:
                columns = self._settings.columns or ()
                row = next(csv.reader([text], delimiter=self._settings.delimiter), [])
                if len(row) != len(columns):
                    raise ValueError(
                        f"csv line has {len(row)} values, expected {len(columns)} "
                        f"({', '.join(columns)})"
                    )
                return dict(zip(columns, row, strict=True))
            case LineFormat.REGEX:
                assert self._pattern is not None
                found = self._pattern.search(text)
                if found is None:
                    raise ValueError("line does not match the pattern")
                return {k: v for k, v in found.groupdict().items() if v is not None}
            case LineFormat.RAW:
                return {}


def line_capture(channel: str, line: bytes, stamp: Stamp, decoder: LineDecoder) -> Capture:
    """The capture of one line: raw kept as text when it is UTF-8, else as bytes."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        decoded = decoder.decode(line.decode("utf-8", errors="replace"))
        reason = f"not UTF-8 ({exc.reason} at byte {exc.start})"
        previous = decoded.get(DECODE_ERROR)
        decoded[DECODE_ERROR] = f"{reason}; {previous}" if previous else reason
        return stamp.capture(channel, line, False, decoded)
    return stamp.capture(channel, line, True, decoder.decode(text))


S = TypeVar("S")


class LineAssembler(Generic[S]):
    """Splits a byte stream into lines, each stamped when its FIRST byte arrived.

    Feed each chunk with the stamp taken when it arrived: a line that starts in that chunk gets
    that stamp, however many chunks it takes to finish. A trailing ``\\r`` is removed.
    """

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._max = max_line_bytes
        self._pending = bytearray()
        self._pending_stamp: S | None = None

    @property
    def pending(self) -> bool:
        return self._pending_stamp is not None

    def feed(self, chunk: bytes, stamp: S) -> list[tuple[bytes, S]]:
        lines: list[tuple[bytes, S]] = []
        start = 0
        while start < len(chunk):
            line_stamp = stamp if self._pending_stamp is None else self._pending_stamp
            self._pending_stamp = line_stamp
            end = chunk.find(b"\n", start)
            if end < 0:
                self._pending += chunk[start:]
                while len(self._pending) >= self._max:
                    logger.warning("line longer than %d bytes: delivered in pieces", self._max)
                    lines.append((bytes(self._pending[: self._max]), line_stamp))
                    del self._pending[: self._max]
                if not self._pending:
                    self._pending_stamp = None
                break
            self._pending += chunk[start:end]
            self._emit(lines)
            start = end + 1
        return lines

    def flush(self) -> list[tuple[bytes, S]]:
        """The last line when the stream ends without a newline."""
        lines: list[tuple[bytes, S]] = []
        if self._pending_stamp is not None:
            self._emit(lines)
        return lines

    def _emit(self, lines: list[tuple[bytes, S]]) -> None:
        line = bytes(self._pending).removesuffix(b"\r")
        stamp = self._pending_stamp
        self._pending.clear()
        self._pending_stamp = None
        if line.strip() and stamp is not None:
            lines.append((line, stamp))
