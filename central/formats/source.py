"""Uploaded files as the importers receive them: a path or a binary file object."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from central.formats.errors import AnnotationImportError
from central.formats.report import Issue, Location

__all__ = ["Source", "read_limited", "source_label"]

Source = str | os.PathLike[str] | BinaryIO


def source_label(source: Source, filename: str | None = None) -> str:
    """The name errors use for the uploaded file."""
    if filename:
        return filename
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) else "upload"


def read_limited(source: Source, max_bytes: int, label: str) -> bytes:
    """The whole content of ``source``, refused when it is larger than ``max_bytes``."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as file:
            data = file.read(max_bytes + 1)
    else:
        data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise AnnotationImportError(
            [Issue(Location(label), f"file is larger than the limit of {max_bytes} bytes")]
        )
    return data
