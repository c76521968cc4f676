"""Receive a multipart/form-data upload as a stream, straight to a file on disk.

The request body is parsed as it arrives (python-multipart's streaming parser), so a large video
never sits in memory and the size limit is enforced while the bytes come in: the moment the file
part passes the limit the upload stops with :class:`TooLarge`. The file is written under a
generated name in the directory given; the name the client sent is never used on the filesystem.
Whatever goes wrong (limit, malformed body, client gone), the partial file is removed; the part
files a crash left behind (untouched for an hour) are removed by the next upload.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from central.services.errors import InvalidInput, TooLarge

__all__ = ["ReceivedUpload", "read_limited", "receive_multipart_upload"]

logger = logging.getLogger(__name__)

PART_PATTERN = ".upload-*.part"
STALE_PART_S = 3600
"""A part file untouched this long belongs to no live upload (each chunk written touches it)."""
MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 32
_FORM_OVERHEAD = MAX_FIELDS * (MAX_FIELD_BYTES + 1024)
"""What the form may add around the file: its other fields and every part's headers."""


@dataclass(frozen=True, slots=True)
class ReceivedUpload:
    path: Path
    """A temporary file under a generated name: move it or delete it."""
    size_bytes: int
    filename: str | None
    """The client's name for the file: for display only."""
    fields: dict[str, str]
    """The other (non-file) form fields."""


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    is_file: bool = False
    value: bytearray = field(default_factory=bytearray)


class _FormReceiver:
    """The parser callbacks: collect small fields, buffer file data for the next disk write."""

    def __init__(self, file_field: str, max_file_bytes: int) -> None:
        self.file_field = file_field
        self.max_file_bytes = max_file_bytes
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_seen = False
        self.file_bytes = 0
        self.pending: list[bytes] = []
        self.finished = False
        self._part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": lambda data, start, end: self._header_field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }

    def _on_part_begin(self) -> None:
        self._part = _Part()
        self._headers = {}

    def _on_header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get("content-disposition"))
        if disposition != b"form-data" or b"name" not in options:
            raise InvalidInput("Each form part needs a Content-Disposition with a name.")
        part = self._part
        part.name = options[b"name"].decode("utf-8", errors="replace")
        if b"filename" in options:
            part.filename = options[b"filename"].decode("utf-8", errors="replace")
        part.is_file = part.name == self.file_field
        if part.is_file:
            if self.file_seen:
                raise InvalidInput("Send one file per upload.", field=self.file_field)
            self.file_seen = True
            self.filename = part.filename
        elif len(self.fields) >= MAX_FIELDS:
            raise InvalidInput("Too many form fields.")

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.is_file:
            self.file_bytes += end - start
            if self.file_bytes > self.max_file_bytes:
                raise TooLarge(f"The file is larger than the limit of {self.max_file_bytes} bytes.")
            self.pending.append(data[start:end])
        elif part.filename is None:
            if len(part.value) + end - start > MAX_FIELD_BYTES:
                raise InvalidInput("This form field is too long.", field=part.name)
            part.value.extend(data[start:end])

    def _on_part_end(self) -> None:
        part = self._part
        if part.is_file or part.filename is not None:
            return
        try:
            self.fields[part.name] = part.value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput("This form field is not UTF-8 text.", field=part.name) from exc

    def _on_end(self) -> None:
        self.finished = True

    def take_pending(self) -> bytes:
        data = b"".join(self.pending)
        self.pending.clear()
        return data


async def receive_multipart_upload(
    body: AsyncIterable[bytes],
    content_type: str | None,
    *,
    file_field: str,
    directory: Path,
    max_file_bytes: int,
    declared_length: int | None = None,
) -> ReceivedUpload:
    """Parse a multipart body, writing the part named ``file_field`` to a file in ``directory``.

    Raises :class:`InvalidInput` for a body that is not multipart/form-data, is malformed, was cut
    short or lacks the file, and :class:`TooLarge` once the file exceeds ``max_file_bytes`` (at
    once, without reading, when ``declared_length``, the Content-Length, says it must).
    """
    if declared_length is not None and declared_length > max_file_bytes + _FORM_OVERHEAD:
        raise TooLarge(f"The upload is larger than the limit of {max_file_bytes} bytes.")
    media_type, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise InvalidInput("Send the video as multipart/form-data.", field=file_field)
    receiver = _FormReceiver(file_field, max_file_bytes)
    try:
        parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
    except MultipartParseError as exc:
        raise InvalidInput(f"Malformed multipart body: {exc}", field=file_field) from exc

    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(directory)
    path = directory / PART_PATTERN.replace("*", secrets.token_hex(16))
    try:
        with path.open("wb") as sink:
            await _feed(parser, receiver, body, sink)
        if not receiver.finished:
            raise InvalidInput("The upload was cut short.", field=file_field)
        if not receiver.file_seen:
            raise InvalidInput("A file is required.", field=file_field)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    logger.debug("Received an upload of %d bytes into %s", receiver.file_bytes, path.name)
    return ReceivedUpload(path, receiver.file_bytes, receiver.filename, receiver.fields)


def _remove_stale_parts(directory: Path) -> None:
    cutoff = time.time() - STALE_PART_S
    for part in directory.glob(PART_PATTERN):
        try:
            if part.stat().st_mtime < cutoff:
                part.unlink()
                logger.info("Removed %s, left by an upload that never finished", part.name)
        except FileNotFoundError:  # another upload removed it first
            continue


async def _feed(
    parser: MultipartParser, receiver: _FormReceiver, body: AsyncIterable[bytes], sink: BinaryIO
) -> None:
    async for chunk in body:
        if not chunk:
            continue
        try:
            parser.write(chunk)
        except MultipartParseError as exc:
            message = f"Malformed multipart body: {exc}"
            raise InvalidInput(message, field=receiver.file_field) from exc
        if receiver.pending:
            await anyio.to_thread.run_sync(sink.write, receiver.take_pending())


async def read_limited(body: AsyncIterable[bytes], max_bytes: int) -> bytes:
    """The whole of ``body``, or :class:`TooLarge` as soon as it passes ``max_bytes``."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in body:
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"The request body is larger than the limit of {max_bytes} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
