"""Which browser origins may open a Socket.IO connection (issue #11).

A browser sends ``Origin`` on every WebSocket upgrade and cross-origin request. The page central
serves itself (``/``) comes from the very address the request reached, so that origin is always
allowed: the scheme of the request (``ws`` counts as ``http``, ``wss`` as ``https``) and its
``Host`` header. The configured ``cors_origins`` (a frontend dev server) are allowed too; any other
origin is refused with one log line naming it and what would have been allowed. A request without
``Origin`` (a script, not a browser) is not checked here: auth still applies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["OriginCheck", "origin_check", "own_origin"]

logger = logging.getLogger(__name__)

OriginCheck = Callable[[str, Mapping[str, Any]], bool]
"""python-engineio's ``cors_allowed_origins`` callable: ``(origin, environ) -> allowed``."""

_HTTP_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def own_origin(environ: Mapping[str, Any]) -> str | None:
    """``scheme://host[:port]`` the request reached, from its ASGI scope and ``Host`` header."""
    host = str(environ.get("HTTP_HOST", "")).strip().lower()
    if not host:
        return None
    scope = environ.get("asgi.scope") or {}
    scheme = _HTTP_SCHEME.get(str(scope.get("scheme", "http")).lower(), "http")
    return f"{scheme}://{host}"


def origin_check(configured: Iterable[str]) -> OriginCheck:
    """The check for ``cors_allowed_origins``: the server's own origin and ``configured``."""
    allowed = frozenset(origin.rstrip("/").lower() for origin in configured)

    def check(origin: str, environ: Mapping[str, Any]) -> bool:
        wanted = origin.rstrip("/").lower()
        own = own_origin(environ)
        if wanted == own or wanted in allowed:
            return True
        logger.warning(
            "Socket.IO connection refused: origin %s is neither this server's own (%s) nor one "
            "of cors_origins %s",
            origin,
            own or "unknown: no Host header",
            sorted(allowed),
        )
        return False

    return check
