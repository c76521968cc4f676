"""Bounds an import may not exceed, so a hostile or broken upload cannot exhaust the server."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "ImportLimits"]


@dataclass(frozen=True, slots=True)
class ImportLimits:
    #: size of the uploaded file itself (a JSON document or a zip archive)
    max_file_bytes: int = 512 * 1024**2
    #: entries in a zip archive, directories included
    max_zip_entries: int = 200_000
    #: sum of the uncompressed sizes a zip archive declares
    max_uncompressed_bytes: int = 2 * 1024**3
    #: uncompressed size of one zip entry (one label file or XML)
    max_entry_bytes: int = 16 * 1024**2
    #: boxes in one import
    max_boxes: int = 5_000_000
    #: issues collected before an import gives up listing them
    max_issues: int = 100


DEFAULT_LIMITS = ImportLimits()
