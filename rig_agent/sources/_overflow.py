"""Signals the kernel dropped on a full socket receive queue, as ``SO_RXQ_OVFL`` reports them.

With ``SO_RXQ_OVFL`` set, every message a socket receives after a drop carries a control message
(``SOL_SOCKET``, ``SO_RXQ_OVFL``) holding the socket's total of dropped packets so far, a 32-bit
counter. The count reaches user space with the next message the kernel did queue, so a burst of
drops shows up as soon as the reader gets going again. UDP and SocketCAN raw sockets (queue full:
a reader slower than the sender) both count this way.
"""

from __future__ import annotations

import logging
import socket
import struct

__all__ = ["OVERFLOW_ANCILLARY_BYTES", "SO_RXQ_OVFL", "OverflowCounter", "enable_overflow_count"]

logger = logging.getLogger(__name__)

SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)
"""Linux's value; Python's socket module does not export it."""
_COUNT = struct.Struct("@I")
_COUNTER_SPAN = 1 << 32
OVERFLOW_ANCILLARY_BYTES = socket.CMSG_SPACE(_COUNT.size)
"""Room to leave in ``recvmsg``'s ancillary buffer for the drop count."""


def enable_overflow_count(sock: socket.socket) -> bool:
    """Ask the kernel to report drops on ``sock``; False where it cannot (not Linux, old kernel)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
    except OSError as exc:
        logger.info("SO_RXQ_OVFL is not available here (%s): drops go uncounted", exc)
        return False
    return True


class OverflowCounter:
    """Turns the kernel's running total into new drops per message."""

    def __init__(self) -> None:
        self._total = 0

    def observe(self, ancillary: list[tuple[int, int, bytes]]) -> int:
        """Drops since the last message that carried a count (0 when this one carries none)."""
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(data) >= _COUNT.size:
                (total,) = _COUNT.unpack_from(data)
                new = (total - self._total) % _COUNTER_SPAN
                self._total = total
                return new
        return 0
