"""Exceptions the services raise; ``central.api.errors`` maps each to one HTTP status.

    ServiceError
     ├── NotFound       404  an id that does not exist
     ├── Conflict       409  the request contradicts stored data (duplicate name, running session)
     ├── InvalidInput   422  a value the schema could not judge (names the field)
     ├── TooLarge       413  an upload over the size limit
     └── Unsupported    415  content that is not what was announced (say, not a video)
"""

from __future__ import annotations

__all__ = ["Conflict", "InvalidInput", "NotFound", "ServiceError", "TooLarge", "Unsupported"]


class ServiceError(Exception):
    """Base of every service exception; ``message`` is safe to show to the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident!r} not found")
        self.what = what
        self.ident = ident


class Conflict(ServiceError):
    pass


class InvalidInput(ServiceError):
    """A bad value; ``field`` is its location in the request, dotted (``executionConfig.mode``)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TooLarge(ServiceError):
    pass


class Unsupported(ServiceError):
    pass
