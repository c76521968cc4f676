"""Errors raised when a message does not follow the wire contract.

ProtocolError (ValueError)
├── MalformedMessage      not JSON, or a field missing, of the wrong type or out of range
├── UnsupportedVersion    the ``v`` field names a wire version this code does not speak
└── UnknownTopic          a topic outside the prefix or the known topic shapes
"""

from __future__ import annotations

__all__ = ["MalformedMessage", "ProtocolError", "UnknownTopic", "UnsupportedVersion"]


class ProtocolError(ValueError):
    """Base class: the bytes or the topic do not follow wire format v1."""


class MalformedMessage(ProtocolError):
    """The payload is not valid JSON or a field does not validate.

    ``field`` names the first offending field as a dotted path (``records.3.t_mono_ns``), or is
    empty when the payload is not JSON at all.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class UnsupportedVersion(ProtocolError):
    """The message declares a wire version other than the one this code speaks."""

    def __init__(self, version: object) -> None:
        super().__init__(f"v: unsupported wire version {version!r}")
        self.field = "v"
        self.version = version


class UnknownTopic(ProtocolError):
    """The topic is not one of the topics of the contract under the configured prefix."""
