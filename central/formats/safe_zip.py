"""Reading uploaded zip archives without trusting them.

Every entry is checked before any is read: no absolute path, drive letter or ``..``, no symlink,
no encryption, no duplicate name, and limits on entry count, entry size and total uncompressed
size. Entries are then read into memory one at a time, never extracted to disk; zipfile stops
at the size an entry declares and checks its CRC, so a lying header cannot inflate past it.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
import zlib
from pathlib import PurePosixPath
from types import TracebackType
from typing import Self

from central.formats.errors import AnnotationImportError
from central.formats.limits import ImportLimits
from central.formats.report import Issue, Location
from central.formats.source import Source

__all__ = ["SafeZip"]

_DRIVE = re.compile(r"^[A-Za-z]:")


class SafeZip:
    """A checked zip archive; use as a context manager. ``files`` lists its file entries."""

    def __init__(self, source: Source, label: str, limits: ImportLimits) -> None:
        self.label = label
        self._limits = limits
        _check_file_size(source, label, limits)
        try:
            self._archive = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
            raise AnnotationImportError(
                [Issue(Location(label), f"not a readable zip archive ({exc})")]
            ) from exc
        try:
            self.files = self._checked_files()
        except AnnotationImportError:
            self._archive.close()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._archive.close()

    def _checked_files(self) -> list[zipfile.ZipInfo]:
        entries = self._archive.infolist()
        limits = self._limits
        if len(entries) > limits.max_zip_entries:
            raise AnnotationImportError(
                [
                    Issue(
                        Location(self.label),
                        f"the archive has {len(entries)} entries, more than the limit of "
                        f"{limits.max_zip_entries}",
                    )
                ]
            )
        issues: list[Issue] = []
        seen: set[str] = set()
        total = 0
        for info in entries:
            where = Location(self.label, element=info.filename)
            problem = _entry_problem(info, limits)
            if problem is None and info.filename in seen:
                problem = "the archive holds this name twice"
            if problem is not None:
                issues.append(Issue(where, problem))
            seen.add(info.filename)
            total += info.file_size
        if total > limits.max_uncompressed_bytes:
            issues.append(
                Issue(
                    Location(self.label),
                    f"the archive unpacks to {total} bytes, more than the limit of "
                    f"{limits.max_uncompressed_bytes}",
                )
            )
        if issues:
            raise AnnotationImportError(
                issues[: limits.max_issues], max(0, len(issues) - limits.max_issues)
            )
        return [info for info in entries if not info.is_dir()]

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """The content of one checked entry."""
        try:
            with self._archive.open(info) as entry:
                return entry.read(self._limits.max_entry_bytes + 1)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as exc:
            raise AnnotationImportError(
                [Issue(Location(self.label, element=info.filename), f"cannot be read ({exc})")]
            ) from exc


def _check_file_size(source: Source, label: str, limits: ImportLimits) -> None:
    if isinstance(source, (str, os.PathLike)):
        size = os.path.getsize(source)
    else:
        position = source.tell()
        size = source.seek(0, os.SEEK_END) - position
        source.seek(position)
    if size > limits.max_file_bytes:
        raise AnnotationImportError(
            [Issue(Location(label), f"larger than the limit of {limits.max_file_bytes} bytes")]
        )


def _entry_problem(info: zipfile.ZipInfo, limits: ImportLimits) -> str | None:
    name = info.filename
    posix = name.replace("\\", "/")
    if "\x00" in name or posix.startswith("/") or _DRIVE.match(posix):
        return "absolute path refused"
    if ".." in PurePosixPath(posix).parts:
        return "path leaving the archive ('..') refused"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link refused"
    if info.flag_bits & 0x1:
        return "encrypted entry refused"
    if info.file_size > limits.max_entry_bytes:
        return f"unpacks to {info.file_size} bytes, more than the limit of {limits.max_entry_bytes}"
    return None
