"""Start, stop, ping and replay: validate a command against the config and the session, answer it.

Pure logic, run on the daemon's main loop. Commands arrive with QoS 1, so the same command may
come twice; a repeated ``command_id`` gets the same answer and changes nothing. A replay is handed
to ``replay`` (the daemon asks the publisher to send the range again), which says what it could
not do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

import orjson

from protocol import (
    CommandReply,
    PingCommand,
    ProtocolError,
    ReplayCommand,
    StartCommand,
    StopCommand,
    decode_command,
)
from rig_agent.records import SessionSpec
from rig_agent.spool_writer import StartSession, StopSession

__all__ = ["SessionControl"]

logger = logging.getLogger(__name__)

_REMEMBERED_REPLIES = 64

ReplayHandler = Callable[[ReplayCommand], str | None]
"""Start sending a replay's range again; return an error for what cannot be sent, else None."""


def _no_replay(command: ReplayCommand) -> str:
    return "this rig keeps no records to replay"


class SessionControl:
    """Owns the session state as the commands see it; the writer follows through its queue."""

    def __init__(
        self, rig_id: str, channels: Collection[str], replay: ReplayHandler = _no_replay
    ) -> None:
        self.rig_id = rig_id
        self._replay = replay
        self.channels = list(channels)
        self.current: SessionSpec | None = None
        self._replies: dict[str, CommandReply] = {}

    def handle(
        self, data: bytes, received_ns: int, received_wall_ns: int
    ) -> tuple[CommandReply | None, StartSession | StopSession | None]:
        """Answer one command payload; the event, if any, goes to the spool writer."""
        try:
            command = decode_command(data)
        except ProtocolError as exc:
            command_id = _command_id(data)
            logger.warning("malformed command refused: %s", exc)
            if command_id is None:
                return None, None
            return self._reply(command_id, None, ok=False, error=f"malformed command: {exc}"), None
        repeated = self._replies.get(command.command_id)
        if repeated is not None:
            return repeated, None
        if isinstance(command, StartCommand):
            return self._start(command, received_ns, received_wall_ns)
        if isinstance(command, StopCommand):
            return self._stop(command, received_ns)
        if isinstance(command, ReplayCommand):
            error = self._replay(command)
            reply = self._reply(command.command_id, "replay", ok=error is None, error=error)
            return self._remember(reply), None
        assert isinstance(command, PingCommand)
        return self._remember(self._reply(command.command_id, "ping", ok=True)), None

    def expire(self, now_ns: int) -> StopSession | None:
        """End the session whose duration has elapsed."""
        spec = self.current
        if spec is None or spec.end_ns is None or now_ns < spec.end_ns:
            return None
        self.current = None
        logger.info("session %s ended: its duration elapsed", spec.session_id)
        return StopSession(spec.session_id, spec.end_ns)

    def _start(
        self, command: StartCommand, received_ns: int, received_wall_ns: int
    ) -> tuple[CommandReply, StartSession | None]:
        def refuse(error: str) -> tuple[CommandReply, None]:
            return self._remember(
                self._reply(command.command_id, "start", ok=False, error=error)
            ), None

        if self.current is not None:
            return refuse(f"session {self.current.session_id} is running; stop it first")
        armed = list(command.channels) if command.channels is not None else list(self.channels)
        unknown = sorted(set(armed) - set(self.channels))
        if unknown:
            return refuse(f"unknown channels: {', '.join(unknown)}")
        if not armed:
            return refuse("no channel to arm")
        if command.sync_channel is not None:
            if command.sync_channel not in self.channels:
                return refuse(f"unknown sync channel: {command.sync_channel}")
            armed.append(command.sync_channel)
        end_ns = (
            received_ns + int(command.duration_s * 1e9) if command.duration_s is not None else None
        )
        spec = SessionSpec(
            session_id=command.session_id,
            start_ns=received_ns,
            start_wall_ns=received_wall_ns,
            armed=frozenset(armed),
            sync_channel=command.sync_channel,
            end_ns=end_ns,
        )
        self.current = spec
        logger.info(
            "session %s started: channels %s, sync %s%s",
            spec.session_id,
            ", ".join(sorted(spec.armed)),
            spec.sync_channel or "the start command",
            f", {command.duration_s:g} s" if command.duration_s is not None else "",
        )
        reply = self._reply(
            command.command_id,
            "start",
            ok=True,
            sync_mono_ns=received_ns if command.sync_channel is None else None,
        )
        return self._remember(reply), StartSession(spec)

    def _stop(
        self, command: StopCommand, received_ns: int
    ) -> tuple[CommandReply, StopSession | None]:
        spec = self.current
        if spec is None:
            reply = self._reply(command.command_id, "stop", ok=False, error="no session is running")
            return self._remember(reply), None
        if command.session_id is not None and command.session_id != spec.session_id:
            error = f"session {command.session_id} is not running (running: {spec.session_id})"
            return self._remember(
                self._reply(command.command_id, "stop", ok=False, error=error)
            ), None
        self.current = None
        logger.info("session %s stopped by command", spec.session_id)
        reply = self._reply(command.command_id, "stop", ok=True, session_id=spec.session_id)
        return self._remember(reply), StopSession(spec.session_id, received_ns)

    def _reply(
        self,
        command_id: str,
        command: str | None,
        *,
        ok: bool,
        error: str | None = None,
        session_id: str | None = None,
        sync_mono_ns: int | None = None,
    ) -> CommandReply:
        current = self.current.session_id if self.current is not None else None
        return CommandReply(
            command_id=command_id[:128],
            ok=ok,
            error=error,
            rig_id=self.rig_id,
            command=command,
            session_id=session_id or current,
            sync_mono_ns=sync_mono_ns,
        )

    def _remember(self, reply: CommandReply) -> CommandReply:
        self._replies[reply.command_id] = reply
        while len(self._replies) > _REMEMBERED_REPLIES:
            del self._replies[next(iter(self._replies))]
        return reply


def _command_id(data: bytes) -> str | None:
    """The command id of a payload that did not validate, so the refusal can be addressed."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    value = obj.get("command_id") if isinstance(obj, dict) else None
    return value if isinstance(value, str) and value else None
