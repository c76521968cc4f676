"""SocketCAN frames read from python-can's socket with everything the kernel says about them.

python-can opens and configures the raw socket (binding, kernel filters, CAN FD) and its
``recv`` would do, but it keeps only one control message per frame and turns the kernel's
receive stamp into float seconds (about 0.25 us of resolution today). Reading the socket here
gives the stamp as integer nanoseconds and the ``SO_RXQ_OVFL`` count of frames the kernel
dropped on a full receive queue (:mod:`._overflow`).
"""

from __future__ import annotations

import select
import socket
from dataclasses import dataclass

from can.interfaces.socketcan import constants
from can.interfaces.socketcan.socketcan import dissect_can_frame

from rig_agent.sources._overflow import (
    OVERFLOW_ANCILLARY_BYTES,
    OverflowCounter,
    enable_overflow_count,
)
from rig_agent.sources._stamps import TIMESTAMP_ANCILLARY_BYTES, kernel_receive_ns

__all__ = ["KernelFrame", "SocketcanReader"]

_ANCILLARY_BYTES = TIMESTAMP_ANCILLARY_BYTES + OVERFLOW_ANCILLARY_BYTES
_EXTENDED_ID_MASK = 0x1FFFFFFF
_STANDARD_ID_MASK = 0x7FF


@dataclass(frozen=True, slots=True)
class KernelFrame:
    arbitration_id: int
    data: bytes
    is_error_frame: bool
    realtime_ns: int | None
    """The kernel's receive stamp on CLOCK_REALTIME (None if the kernel gave none)."""
    dropped: int
    """Frames the kernel dropped on this socket since the previous frame."""


class SocketcanReader:
    """Reads frames from a bound SocketCAN raw socket (``SocketcanBus.socket``)."""

    def __init__(self, sock: socket.socket) -> None:
        self._socket = sock
        self._overflow = OverflowCounter()
        self.counts_drops = enable_overflow_count(sock)

    def read(self, timeout_s: float) -> KernelFrame | None:
        """The next frame, or None when none came within ``timeout_s``.

        :raises OSError: when the interface went down or away (``ENETDOWN``, ``ENODEV``).
        """
        ready, _, _ = select.select([self._socket], [], [], timeout_s)
        if not ready:
            return None
        frame, ancillary, _, _ = self._socket.recvmsg(constants.CANFD_MTU, _ANCILLARY_BYTES)
        can_id, _, _, data = dissect_can_frame(frame)
        extended = bool(can_id & constants.CAN_EFF_FLAG)
        return KernelFrame(
            arbitration_id=can_id & (_EXTENDED_ID_MASK if extended else _STANDARD_ID_MASK),
            data=bytes(data),
            is_error_frame=bool(can_id & constants.CAN_ERR_FLAG),
            realtime_ns=kernel_receive_ns(ancillary),
            dropped=self._overflow.observe(ancillary),
        )
