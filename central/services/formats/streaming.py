"""Building large exports as a stream of byte chunks, zip archives included.

``zipfile`` writes to a sink that cannot seek or tell (it then adds data descriptors), so an
archive is produced entry by entry and handed out as it grows; nothing holds the whole archive.
Entries carry a fixed timestamp, so the same data always gives the same bytes.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, cast

__all__ = ["CHUNK_SIZE", "rechunk", "stream_zip"]

CHUNK_SIZE = 256 * 1024
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644 << 16


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


class _Sink:
    """A write-only stream collecting what zipfile writes until it is drained."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """zipfile flushes its sink; the parts are handed out by ``drain``."""

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data


def stream_zip(
    entries: Iterable[tuple[str, bytes]], compresslevel: int = 1, size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """A deflated zip archive of ``(name, content)`` entries, as chunks of about ``size`` bytes.

    A name ending in "/" is written as a directory entry.
    """
    sink = _Sink()
    writable = cast(IO[bytes], sink)  # zipfile needs only write() and flush()
    with zipfile.ZipFile(writable, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        for name, content in entries:
            info = zipfile.ZipInfo(name, _ZIP_EPOCH)
            if name.endswith("/"):
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
            else:
                info.external_attr = _FILE_MODE
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, content, compresslevel=compresslevel)
            if sink.size >= size:
                yield sink.drain()
    yield sink.drain()
