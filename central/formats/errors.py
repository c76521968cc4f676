"""Exceptions of the format converters.

    FormatError
     ├── UnknownFormatError      (also LookupError) no converter of that name
     ├── ExportError             the video or the annotations cannot be written in that format
     └── AnnotationImportError   (also ValueError) the file was refused; carries every issue found
"""

from __future__ import annotations

from collections.abc import Sequence

from central.formats.report import Issue

__all__ = ["AnnotationImportError", "ExportError", "FormatError", "UnknownFormatError"]


class FormatError(Exception):
    """Base of every error raised by the format converters."""


class UnknownFormatError(FormatError, LookupError):
    pass


class ExportError(FormatError):
    pass


class AnnotationImportError(FormatError, ValueError):
    """An import refused as a whole: nothing from the file may be written.

    ``issues`` lists the problems found (up to the import's issue limit); ``more_issues`` counts
    the ones left out.
    """

    def __init__(self, issues: Sequence[Issue], more_issues: int = 0) -> None:
        self.issues = list(issues)
        self.more_issues = more_issues
        shown = "; ".join(str(issue) for issue in self.issues[:5])
        rest = len(self.issues) - 5 + more_issues
        super().__init__(shown + (f"; and {rest} more" if rest > 0 else ""))
