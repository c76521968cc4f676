"""The start and stop commands a session's owner sends its rig, and what their answers mean."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from central.db.models import TestSession
from central.db.types import new_id
from central.execution.http_rig import HTTP_RIG_ID
from protocol import Command, CommandReply, StartCommand, StopCommand

__all__ = ["CommandSender", "start", "stop"]

logger = logging.getLogger(__name__)


class CommandSender(Protocol):
    async def request(self, rig_id: str, command: Command, timeout_s: float) -> CommandReply: ...


async def start(
    commands: CommandSender | None,
    session: TestSession,
    config: dict[str, Any],
    timeout_s: float,
) -> tuple[str | None, int | None]:
    """(error, sync instant) of the start command; no command for a session without a rig."""
    if session.rig_id == HTTP_RIG_ID:
        return None, None
    if commands is None:
        return "MQTT ingest is off on this server: no rig can be commanded", None
    command = StartCommand(
        command_id=new_id(),
        session_id=session.id,
        channels=config.get("channels"),
        duration_s=float(config["test_duration"]),
        sync_channel=config.get("sync_channel"),
    )
    try:
        reply = await commands.request(session.rig_id, command, timeout_s)
    except TimeoutError as exc:
        return f"no answer to the start command: {exc}", None
    except Exception as exc:
        logger.exception("start command to rig %s failed", session.rig_id)
        return f"the start command could not be sent: {exc}", None
    if not reply.ok:
        return (
            f"rig {session.rig_id} refused to start: {reply.error or 'no reason given'}",
            None,
        )
    return None, reply.sync_mono_ns


async def stop(
    commands: CommandSender | None, session: TestSession, online: bool, timeout_s: float
) -> None:
    """Tell the rig to stop; a rig that is not ``online`` cannot answer and is not waited for
    (its session ends on its own when the duration is over)."""
    if session.rig_id == HTTP_RIG_ID or commands is None:
        return
    if not online:
        logger.info("rig %s is not online: session %s stops without it", session.rig_id, session.id)
        return
    command = StopCommand(command_id=new_id(), session_id=session.id)
    try:
        reply = await commands.request(session.rig_id, command, timeout_s)
    except (TimeoutError, RuntimeError, OSError) as exc:
        logger.warning("rig %s did not confirm the stop of %s: %s", session.rig_id, session.id, exc)
        return
    if not reply.ok:
        logger.info("rig %s on stopping %s: %s", session.rig_id, session.id, reply.error)
