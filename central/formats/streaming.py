"""Building large exports as a stream of byte chunks, zip archives included.

Exports hand out chunks as they are made; nothing holds the whole file. Zip archives are written
by :mod:`zipfile` into a write-only sink that is drained as it fills: the sink cannot seek, so
zipfile puts each entry's sizes and CRC in a data descriptor after it, and ZIP64 records appear
by themselves past 65,535 entries. An entry's content is either bytes or an iterable of byte
parts (a whole video's export inside a dataset archive), so no entry has to be whole in memory.
Entries carry a fixed timestamp, so the same data always gives the same bytes.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, cast

__all__ = ["CHUNK_SIZE", "ZipEntry", "rechunk", "stream_zip"]

CHUNK_SIZE = 256 * 1024

ZipEntry = tuple[str, bytes | Iterable[bytes]]
"""A name and its content; a name ending in "/" is a directory."""

_EARLIEST_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
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
    """A write-only stream keeping what zipfile writes until it is drained."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing to do: parts leave through :meth:`drain`."""

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data


def stream_zip(
    entries: Iterable[ZipEntry], compresslevel: int = 1, size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """A zip archive of ``entries``, as chunks of about ``size`` bytes.

    Contents are deflated, except nested ``.zip`` entries, which are stored: they are compressed
    already.
    """
    sink = _Sink()
    with zipfile.ZipFile(cast(IO[bytes], sink), "w", compresslevel=compresslevel) as archive:
        for name, content in entries:
            if name.endswith("/"):
                archive.mkdir(name, mode=0o755)
                continue
            info = zipfile.ZipInfo(name, _EARLIEST_ZIP_DATE)
            info.external_attr = _FILE_MODE
            info.compress_type = (
                zipfile.ZIP_STORED if name.endswith(".zip") else zipfile.ZIP_DEFLATED
            )
            # An entry's own level wins over the archive's; Python 3.13 names it compress_level.
            info._compresslevel = compresslevel  # type: ignore[attr-defined]
            if isinstance(content, bytes):
                archive.writestr(info, content)
            else:
                with archive.open(info, "w", force_zip64=True) as entry:
                    for part in content:
                        entry.write(part)
                        if sink.size >= size:
                            yield sink.drain()
            if sink.size >= size:
                yield sink.drain()
    yield sink.drain()
