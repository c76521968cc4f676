"""Stamps on the rig's one clock, each naming where it came from, and the capture built from one."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Any

from protocol import Clock
from rig_agent.clock import RigClock
from rig_agent.sources.base import Capture

__all__ = [
    "SO_TIMESTAMPNS",
    "TIMESTAMP_ANCILLARY_BYTES",
    "Stamp",
    "kernel_monotonic_stamp",
    "kernel_realtime_stamp",
    "kernel_receive_ns",
    "user_stamp",
]

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
"""Linux's value; Python's socket module does not export it on every version."""
_TIMESPEC = struct.Struct("@ll")
TIMESTAMP_ANCILLARY_BYTES = socket.CMSG_SPACE(_TIMESPEC.size)
"""Room to leave in ``recvmsg``'s ancillary buffer for the kernel's receive stamp."""


@dataclass(frozen=True, slots=True)
class Stamp:
    mono_ns: int
    wall_ns: int
    clock: Clock

    def capture(
        self, channel: str, raw: bytes, raw_is_text: bool, decoded: dict[str, Any]
    ) -> Capture:
        return Capture(channel, self.mono_ns, self.wall_ns, self.clock, raw, raw_is_text, decoded)


def user_stamp(clock: RigClock) -> Stamp:
    """Read the monotonic clock now, in user space."""
    mono_ns = clock.now_ns()
    return Stamp(mono_ns, clock.mono_to_wall(mono_ns), Clock.USER_MONOTONIC)


def kernel_realtime_stamp(clock: RigClock, realtime_ns: int) -> Stamp:
    """A kernel stamp on CLOCK_REALTIME (SO_TIMESTAMPNS, SocketCAN), moved onto the monotonic clock."""
    return Stamp(clock.realtime_to_mono(realtime_ns), realtime_ns, Clock.KERNEL_REALTIME)


def kernel_monotonic_stamp(clock: RigClock, mono_ns: int) -> Stamp:
    """A kernel stamp already on CLOCK_MONOTONIC (GPIO character device edge events)."""
    return Stamp(mono_ns, clock.mono_to_wall(mono_ns), Clock.KERNEL_MONOTONIC)


def kernel_receive_ns(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    """The CLOCK_REALTIME receive stamp in ``recvmsg`` ancillary data, if the kernel gave one."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return int(seconds) * 1_000_000_000 + int(nanoseconds)
    return None
