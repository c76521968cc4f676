"""Commands to rigs and their replies: publish on ``rigs/{id}/commands``, await the reply.

Replies arrive through the :class:`~central.ingest.ingestor.Ingestor` (on ``rigs/+/replies``) and
are matched to the waiting request by ``command_id``.
"""

from __future__ import annotations

import asyncio
import logging

from central.ingest.ingestor import Ingestor
from protocol import Command, CommandReply, encode

__all__ = ["CommandChannel", "CommandTimeout"]

logger = logging.getLogger(__name__)


class CommandTimeout(TimeoutError):
    """The rig did not answer (or the broker did not take the command) in time."""


class CommandChannel:
    def __init__(self, ingestor: Ingestor) -> None:
        self._ingestor = ingestor
        self._waiting: dict[str, asyncio.Future[CommandReply]] = {}
        ingestor.add_reply_listener(self._on_reply)

    async def request(self, rig_id: str, command: Command, timeout_s: float) -> CommandReply:
        """Send ``command`` to ``rig_id`` (QoS 1) and return its reply; ``CommandTimeout`` if
        none arrives within ``timeout_s``. A reply with ``ok=false`` is returned, not raised."""
        if command.command_id in self._waiting:
            raise ValueError(f"command {command.command_id!r} is already waiting for its reply")
        future: asyncio.Future[CommandReply] = asyncio.get_running_loop().create_future()
        self._waiting[command.command_id] = future
        topic = self._ingestor.topics.commands(rig_id)
        try:
            async with asyncio.timeout(timeout_s):
                await self._ingestor.client.publish(topic, encode(command), qos=1)
                return await future
        except TimeoutError:
            raise CommandTimeout(
                f"rig {rig_id!r} did not answer {command.command} {command.command_id!r} "
                f"within {timeout_s:.1f} s"
            ) from None
        finally:
            self._waiting.pop(command.command_id, None)

    def _on_reply(self, rig_id: str, reply: CommandReply) -> None:
        future = self._waiting.get(reply.command_id)
        if future is None:
            logger.info(
                "reply from rig %s to command %s nobody waits for", rig_id, reply.command_id
            )
            return
        if not future.done():
            future.set_result(reply)
