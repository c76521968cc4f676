"""Signed, short-lived links to a video's stream, for players that cannot send a bearer token.

A browser's ``<video src=...>`` sends no ``Authorization`` header, so a viewer first asks for a
link; it carries ``expires`` (Unix seconds) and ``signature``, an HMAC-SHA256 of
``"{video_id}:{expires}"``. The key is a random file in the data directory, made on first use
(mode 0600): every server process that shares the data directory (they must, to serve the video
files) accepts the links of the others, and a restart does not void them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["KEY_FILENAME", "LINK_TTL_S", "StreamLink", "make_link", "verify_link"]

logger = logging.getLogger(__name__)

KEY_FILENAME = "stream-link.key"
LINK_TTL_S = 6 * 3600
"""Long enough to watch a long video with pauses; short enough that a leaked link dies soon."""
_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class StreamLink:
    expires: int
    signature: str


def _key(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILENAME
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _read_whole_key(path)
    key = secrets.token_bytes(_KEY_BYTES)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    logger.info("Created the stream link key %s", path)
    return key


def _read_whole_key(path: Path) -> bytes:
    """The key another process is writing right now: wait the moment it takes."""
    for _ in range(100):
        key = path.read_bytes()
        if len(key) == _KEY_BYTES:
            return key
        time.sleep(0.01)
    raise RuntimeError(f"the stream link key {path} is not {_KEY_BYTES} bytes long")


def _signature(key: bytes, video_id: str, expires: int) -> str:
    return hmac.new(key, f"{video_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def make_link(data_dir: Path, video_id: str, *, now: float | None = None) -> StreamLink:
    expires = int(time.time() if now is None else now) + LINK_TTL_S
    return StreamLink(expires, _signature(_key(data_dir), video_id, expires))


def verify_link(
    data_dir: Path, video_id: str, expires: int, signature: str, *, now: float | None = None
) -> bool:
    """True when ``signature`` was made here for this video and ``expires`` has not passed."""
    if expires < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(_signature(_key(data_dir), video_id, expires), signature)
