"""The embedded MQTT broker (amqtt) for demos, development and machines without Mosquitto.

amqtt speaks MQTT 3.1.1 only, is several times slower than Mosquitto and does not resend
in-flight QoS 1 messages after a reconnect: production runs Mosquitto 2 (see ``deploy/``).
It listens on the requested port, or on a free one when none is given or the requested one is
already taken (say by a local Mosquitto); it never fails for a busy port.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from types import TracebackType
from typing import Self

from amqtt.broker import Broker  # type: ignore[import-untyped]

__all__ = ["EmbeddedBroker", "ThreadedBroker", "free_port", "port_is_free"]

logger = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


class EmbeddedBroker:
    """An amqtt broker bound to loopback; use ``async with`` inside a running event loop."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        if port is not None and not port_is_free(host, port):
            logger.warning(
                "port %d on %s is taken; the embedded broker picks a free one", port, host
            )
            port = None
        self.port = port if port is not None else free_port(host)
        self._broker: Broker | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        self._broker = Broker(config)
        await self._broker.start()
        logger.info("embedded MQTT broker listening on %s", self.url)

    async def stop(self) -> None:
        if self._broker is not None:
            broker, self._broker = self._broker, None
            await broker.shutdown()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class ThreadedBroker:
    """Runs an :class:`EmbeddedBroker` on its own event loop thread, for synchronous callers."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="embedded-mqtt", daemon=True
        )
        self.broker = EmbeddedBroker(host, port)

    @property
    def url(self) -> str:
        return self.broker.url

    def start(self) -> ThreadedBroker:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.broker.start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.broker.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
