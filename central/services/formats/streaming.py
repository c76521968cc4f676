"""Building large exports as a stream of byte chunks, zip archives included.

Exports hand out chunks as they are made; nothing holds the whole file. Zip archives are written
here directly rather than through ``zipfile``: each entry's content is already in memory, so its
sizes and CRC go into the local header (no data descriptor), and a per-frame export of thousands
of small files costs a fraction of zipfile's per-entry overhead. Archives past 65,535 entries or
4 GiB of central directory offset get the ZIP64 end records. Entries carry a fixed timestamp, so
the same data always gives the same bytes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator

__all__ = ["CHUNK_SIZE", "rechunk", "stream_zip"]

CHUNK_SIZE = 256 * 1024

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_CENTRAL_HEADER = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")

_VERSION_NEEDED = 20  # deflate
_VERSION_NEEDED_ZIP64 = 45
_VERSION_MADE_BY = (3 << 8) | _VERSION_NEEDED  # made on unix, so external attributes are modes
_UTF8_NAME = 0x0800
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, the earliest date zip can hold
_DOS_TIME = 0
_FILE_ATTRIBUTES = 0o100644 << 16
_DIRECTORY_ATTRIBUTES = (0o40755 << 16) | 0x10
_STORED, _DEFLATED = 0, 8
_MAX_16, _MAX_32 = 0xFFFF, 0xFFFFFFFF


def rechunk(parts: Iterable[bytes], size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Joins small pieces into chunks of about ``size`` bytes."""
    pending: list[bytes] = []
    pending_size = 0
    for part in parts:
        pending.append(part)
        pending_size += len(part)
        if pending_size >= size:
            yield b"".join(pending)
            pending.clear()
            pending_size = 0
    if pending:
        yield b"".join(pending)


def stream_zip(
    entries: Iterable[tuple[str, bytes]], compresslevel: int = 1, size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """A zip archive of ``(name, content)`` entries, as chunks of about ``size`` bytes.

    Contents are deflated; a name ending in "/" is written as a directory entry.
    """
    return rechunk(_zip_parts(entries, compresslevel), size)


def _zip_parts(entries: Iterable[tuple[str, bytes]], compresslevel: int) -> Iterator[bytes]:
    directory: list[bytes] = []
    offset = 0
    for name, content in entries:
        if offset > _MAX_32:
            raise ValueError("zip entries past 4 GiB need ZIP64 entry records, not written here")
        encoded = name.encode()
        flags = 0 if encoded.isascii() else _UTF8_NAME
        if name.endswith("/"):
            method, data, crc, attributes = _STORED, b"", 0, _DIRECTORY_ATTRIBUTES
        else:
            data = zlib.compress(content, compresslevel, -zlib.MAX_WBITS)  # raw deflate
            method, crc, attributes = _DEFLATED, zlib.crc32(content), _FILE_ATTRIBUTES
        sizes = (crc, len(data), len(content), len(encoded))
        header = _LOCAL_HEADER.pack(
            b"PK\x03\x04", _VERSION_NEEDED, flags, method, _DOS_TIME, _DOS_DATE, *sizes, 0
        )
        yield header + encoded + data
        directory.append(
            _CENTRAL_HEADER.pack(
                b"PK\x01\x02", _VERSION_MADE_BY, _VERSION_NEEDED, flags, method, _DOS_TIME,
                _DOS_DATE, *sizes, 0, 0, 0, 0, attributes, offset,
            )
            + encoded
        )
        offset += len(header) + len(encoded) + len(data)
    central = b"".join(directory)
    yield central
    yield _end_records(len(directory), len(central), offset)


def _end_records(count: int, directory_size: int, directory_offset: int) -> bytes:
    records = b""
    if count > _MAX_16 or directory_size > _MAX_32 or directory_offset > _MAX_32:
        zip64_end_offset = directory_offset + directory_size
        records = _ZIP64_END.pack(
            b"PK\x06\x06", _ZIP64_END.size - 12, _VERSION_MADE_BY, _VERSION_NEEDED_ZIP64, 0, 0,
            count, count, directory_size, directory_offset,
        ) + _ZIP64_LOCATOR.pack(b"PK\x06\x07", 0, zip64_end_offset, 1)
        count = min(count, _MAX_16)
        directory_size = min(directory_size, _MAX_32)
        directory_offset = min(directory_offset, _MAX_32)
    return records + _END.pack(
        b"PK\x05\x06", 0, 0, count, count, directory_size, directory_offset, 0
    )
