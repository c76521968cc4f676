"""Network signals: UDP datagrams or TCP line streams, stamped by the kernel on arrival.

The socket has ``SO_TIMESTAMPNS`` set and is read with ``recvmsg``, whose ancillary data carries
the kernel's CLOCK_REALTIME receive stamp; it is moved onto the rig's monotonic clock
(``kernel_realtime``). asyncio's datagram protocol cannot return ancillary data, and a busy event
loop would not matter anyway: the stamp was taken by the kernel. A reader thread of its own
selects on the sockets, so no caller's event loop is needed.

- UDP: every datagram is read whole; each line in it is a capture with the datagram's stamp.
- TCP: one line-delimited stream per connection. Linux does return ``SCM_TIMESTAMPNS`` for TCP,
  but for the NEWEST segment a ``recvmsg`` copied: that equals the line's first byte when the
  reader keeps up (one segment per read) and is never earlier than it. A line is stamped by the
  read its first byte came in.

Where no stamp arrives (another OS, timestamps disabled), the stamp is read in user space right
after the read and the capture says ``user_monotonic``.

Datagrams the kernel dropped because the socket's receive queue was full (a sender faster than
the reader) are counted in ``drops`` from ``SO_RXQ_OVFL`` (see :mod:`._overflow`); TCP does
not drop, it slows the sender down.
"""

from __future__ import annotations

import errno
import logging
import selectors
import socket
from collections.abc import Callable
from typing import Literal

from pydantic import Field, field_validator

from protocol import Source
from rig_agent.clock import RigClock
from rig_agent.sources._decoding import DecodingSource
from rig_agent.sources._lines import LineAssembler, LineDecoder, LineFormatSettings, line_capture
from rig_agent.sources._overflow import (
    OVERFLOW_ANCILLARY_BYTES,
    OverflowCounter,
    enable_overflow_count,
)
from rig_agent.sources._reader import SupervisedReader
from rig_agent.sources._stamps import (
    SO_TIMESTAMPNS,
    TIMESTAMP_ANCILLARY_BYTES,
    Stamp,
    kernel_realtime_stamp,
    kernel_receive_ns,
    user_stamp,
)
from rig_agent.sources.base import CaptureSink, ChannelSettings, SourceUnavailable

__all__ = ["NetworkSettings", "NetworkSource", "parse_listen"]

logger = logging.getLogger(__name__)

_ANCILLARY_BYTES = TIMESTAMP_ANCILLARY_BYTES + OVERFLOW_ANCILLARY_BYTES
_MAX_DATAGRAM = 65535
_TCP_READ_BYTES = 65536
_SELECT_TIMEOUT_S = 0.1
_BACKLOG = 16


def parse_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:9000"`` or ``"[::1]:9000"`` -> (host, port); ValueError says what is wrong."""
    host, sep, port_text = listen.rpartition(":")
    if not sep or not host:
        raise ValueError(
            f"listen {listen!r} is not host:port, e.g. '127.0.0.1:9000' or '[::1]:9000'"
        )
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"listen {listen!r}: write an IPv6 address in brackets, e.g. '[::1]:9000'")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"listen {listen!r}: port {port_text!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"listen {listen!r}: port {port} is outside 0-65535")
    return host, port


class NetworkSettings(ChannelSettings, LineFormatSettings):
    """A UDP or TCP listener; port 0 takes any free port (see ``NetworkSource.bound_address``)."""

    source: Literal[Source.NETWORK] = Source.NETWORK
    protocol: Literal["udp", "tcp"] = "udp"
    listen: str = Field(description="host:port to listen on, e.g. '127.0.0.1:9000'")

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @property
    def address(self) -> tuple[str, int]:
        return parse_listen(self.listen)


_BIND_HINTS = {
    errno.EADDRINUSE: "the port is in use by another program",
    errno.EACCES: "permission denied (ports below 1024 need privileges)",
    errno.EADDRNOTAVAIL: "the address is not one of this host's",
}


class NetworkSource(DecodingSource):
    kind = Source.NETWORK
    settings: NetworkSettings

    def __init__(self, settings: NetworkSettings, sink: CaptureSink, clock: RigClock) -> None:
        super().__init__(settings, sink, clock)
        self._decoder = LineDecoder(settings)
        self._socket: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._streams: dict[socket.socket, LineAssembler[Stamp]] = {}
        self._reader: SupervisedReader | None = None
        self._overflow = OverflowCounter()
        self.bound_address: tuple[str, int] | None = None
        """Where the socket listens once started (the real port when ``listen`` gave port 0)."""

    def probe(self) -> str:
        sock = self._bind()
        try:
            return f"network channel {self.name!r}: {self.settings.protocol} {self.settings.listen} free"
        finally:
            sock.close()

    def _open(self) -> None:
        self._socket = self._bind()
        self._overflow = OverflowCounter()
        self.bound_address = self._socket.getsockname()[:2]
        self._selector = selectors.DefaultSelector()
        on_ready = self._read_datagrams if self.settings.protocol == "udp" else self._accept
        self._selector.register(self._socket, selectors.EVENT_READ, on_ready)
        self._reader = SupervisedReader(self, self._read_once)
        self._reader.start()

    def _close(self) -> None:
        if self._reader is not None:
            self._reader.stop()
            self._reader = None
        for connection in list(self._streams):
            self._end_stream(connection)
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _bind(self) -> socket.socket:
        host, port = self.settings.address
        kind = socket.SOCK_DGRAM if self.settings.protocol == "udp" else socket.SOCK_STREAM
        try:
            family = socket.getaddrinfo(host, port, type=kind)[0][0]
        except socket.gaierror as exc:
            raise SourceUnavailable(
                f"network channel {self.name!r}: cannot resolve {host!r}: {exc}"
            ) from exc
        sock = socket.socket(family, kind)
        try:
            if kind == socket.SOCK_STREAM:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.bind((host, port))
            if kind == socket.SOCK_DGRAM:
                enable_overflow_count(sock)
            if kind == socket.SOCK_STREAM:
                sock.listen(_BACKLOG)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            hint = _BIND_HINTS.get(exc.errno or 0, exc.strerror or str(exc))
            raise SourceUnavailable(
                f"network channel {self.name!r} cannot listen on {self.settings.protocol} "
                f"{self.settings.listen}: {hint}"
            ) from exc
        return sock

    def _read_once(self) -> None:
        assert self._selector is not None
        for key, _ in self._selector.select(_SELECT_TIMEOUT_S):
            handler: Callable[[socket.socket], None] = key.data
            handler(key.fileobj)  # type: ignore[arg-type]

    def _stamp(self, ancillary: list[tuple[int, int, bytes]]) -> Stamp:
        realtime_ns = kernel_receive_ns(ancillary)
        if realtime_ns is None:
            return user_stamp(self._clock)
        return kernel_realtime_stamp(self._clock, realtime_ns)

    def _read_datagrams(self, sock: socket.socket) -> None:
        while True:
            try:
                data, ancillary, _, _ = sock.recvmsg(_MAX_DATAGRAM, _ANCILLARY_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            stamp = self._stamp(ancillary)
            self._count_drops(self._overflow.observe(ancillary))
            lines = LineAssembler[Stamp]()
            self._deliver_lines(lines.feed(data, stamp) + lines.flush())

    def _count_drops(self, dropped: int) -> None:
        if dropped:
            self.drops += dropped
            logger.warning(
                "channel %s: the kernel dropped %d datagram(s) on a full receive queue",
                self.name,
                dropped,
            )

    def _accept(self, server: socket.socket) -> None:
        assert self._selector is not None
        try:
            connection, peer = server.accept()
        except (BlockingIOError, InterruptedError):
            return
        connection.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        connection.setblocking(False)
        self._streams[connection] = LineAssembler()
        self._selector.register(connection, selectors.EVENT_READ, self._read_stream)
        logger.info("channel %s: connection from %s", self.name, peer)

    def _read_stream(self, connection: socket.socket) -> None:
        try:
            data, ancillary, _, _ = connection.recvmsg(_TCP_READ_BYTES, _ANCILLARY_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            logger.info("channel %s: connection lost: %s", self.name, exc)
            data = b""
        if not data:
            self._end_stream(connection)
            return
        self._deliver_lines(self._streams[connection].feed(data, self._stamp(ancillary)))

    def _end_stream(self, connection: socket.socket) -> None:
        """Deliver a last line that had no newline, then forget the connection."""
        self._deliver_lines(self._streams.pop(connection).flush())
        if self._selector is not None:
            self._selector.unregister(connection)
        connection.close()

    def _deliver_lines(self, lines: list[tuple[bytes, Stamp]]) -> None:
        for line, stamp in lines:
            self._deliver(line_capture(self.name, line, stamp, self._decoder))
