"""Close the loop with each rig: confirm what is stored, ask again for what is missing.

On the event loop, fed with the :class:`~central.ingest._watermarks.StreamProgress` of every
commit:

- the watermark goes out retained on ``rigs/{rig_id}/acks`` (one publish in flight per rig; a
  newer watermark replaces one still waiting), so the rig can drop the records it covers. It goes
  out again when the rig's status shows it heard an older one (a broker restarted empty forgets
  retained messages);
- a range still missing ``replay_after_s`` after it was first seen (records in flight are not
  missing, they are late) is asked for with a ``replay`` command on the rig's command topic, and
  asked again every ``replay_retry_s`` while the watermark does not move. The records come back on
  the normal path and dedupe on ``(rig_id, stream, seq)``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

from central.ingest._watermarks import StreamProgress
from central.ingest.client import MqttClient, MqttError
from protocol import CommandReply, ReplayCommand, StreamAck, Topics, encode

__all__ = ["StreamReconciler"]

logger = logging.getLogger(__name__)

_PUBLISH_TIMEOUT_S = 10.0


@dataclass(slots=True)
class _Gap:
    committed_seq: int
    seen_at: float
    asked_at: float | None = None


class StreamReconciler:
    def __init__(
        self,
        client: MqttClient,
        topics: Topics,
        *,
        replay_after_s: float = 2.0,
        replay_retry_s: float = 10.0,
    ) -> None:
        self._client = client
        self._topics = topics
        self._replay_after_s = replay_after_s
        self._replay_retry_s = replay_retry_s
        self._published: dict[str, tuple[str, int]] = {}
        self._waiting: dict[str, StreamAck] = {}
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._gaps: dict[tuple[str, str], _Gap] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._refused: set[str] = set()

    def note(self, progress: list[StreamProgress]) -> None:
        """Called on the event loop after each commit."""
        now = time.monotonic()
        for item in progress:
            if item.committed_seq >= 0:
                self._offer_ack(item)
            self._plan_replay(item, now)

    def on_reply(self, rig_id: str, reply: CommandReply) -> None:
        """Reply listener: a replay the rig could only partly serve is worth a warning."""
        if reply.command == "replay" and not reply.ok:
            logger.warning("rig %s cannot replay everything asked: %s", rig_id, reply.error)

    async def close(self) -> None:
        tasks = [*self._senders.values(), *self._tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -------------------------------------------------------------------------------- acks

    def _offer_ack(self, item: StreamProgress) -> None:
        rig_id = item.rig_id
        behind = item.rig_acked_seq is not None and item.rig_acked_seq < item.committed_seq
        if self._published.get(rig_id) == (item.stream, item.committed_seq) and not behind:
            return
        self._waiting[rig_id] = StreamAck(
            rig_id=rig_id,
            stream=item.stream,
            committed_seq=item.committed_seq,
            t_wall_ns=time.time_ns(),
        )
        if rig_id not in self._senders:
            task = asyncio.create_task(self._send_acks(rig_id), name=f"acks-{rig_id}")
            self._senders[rig_id] = task

    async def _send_acks(self, rig_id: str) -> None:
        try:
            while (ack := self._waiting.pop(rig_id, None)) is not None:
                try:
                    async with asyncio.timeout(_PUBLISH_TIMEOUT_S):
                        await self._client.publish(
                            self._topics.acks(rig_id), encode(ack), qos=1, retain=True
                        )
                except TimeoutError:  # the broker is away: the newest ack goes once it is back
                    self._waiting.setdefault(rig_id, ack)
                    continue
                except MqttError as exc:  # refused, e.g. by an ACL from before the acks topic
                    level = logging.DEBUG if rig_id in self._refused else logging.WARNING
                    logger.log(level, "ack to rig %s not published: %s", rig_id, exc)
                    self._refused.add(rig_id)
                    continue
                self._published[rig_id] = (ack.stream, ack.committed_seq)
        finally:
            self._senders.pop(rig_id, None)

    # ----------------------------------------------------------------------------- replays

    def _plan_replay(self, item: StreamProgress, now: float) -> None:
        key = (item.rig_id, item.stream)
        if item.missing is None:
            self._gaps.pop(key, None)
            return
        gap = self._gaps.get(key)
        if gap is None or gap.committed_seq != item.committed_seq:
            self._gaps[key] = _Gap(item.committed_seq, now)
            return
        if now - gap.seen_at < self._replay_after_s:
            return
        if gap.asked_at is not None and now - gap.asked_at < self._replay_retry_s:
            return
        gap.asked_at = now
        first, last = item.missing
        command = ReplayCommand(
            command_id=f"replay-{uuid.uuid4().hex[:12]}",
            stream=item.stream,
            from_seq=first,
            to_seq=last,
        )
        logger.warning(
            "records %d..%d of stream %s of rig %s are missing: asking the rig to replay them",
            first,
            last,
            item.stream,
            item.rig_id,
        )
        task = asyncio.create_task(self._send_command(item.rig_id, command))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_command(self, rig_id: str, command: ReplayCommand) -> None:
        try:
            async with asyncio.timeout(_PUBLISH_TIMEOUT_S):
                await self._client.publish(self._topics.commands(rig_id), encode(command), qos=1)
        except (TimeoutError, MqttError) as exc:
            logger.warning("replay request to rig %s not published: %s", rig_id, exc)
