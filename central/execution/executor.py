"""Running a test session: start, stop (by request, by duration, by the rig) and the final verdict.

    pending ──start──► (start command to the rig, QoS 1) ──ack──► running ──stop──► completed
       │                                   └─ refused / no answer ─► failed (with the reason)
       └─ a session of the ``http`` rig needs no rig: running at once     stopped (by request)

While a session runs, :class:`~central.execution.live.LiveMatching` judges its records
as they are stored. It ends when its duration elapses (``completed``), when an operator stops it
(``stopped``) or when its rig reports it no longer runs it (``completed``). Then central waits
briefly for records still in flight (until none arrived for ``quiet_s``, at most
``max_settle_s``), recomputes the final results from every stored record in one pass
(:mod:`central.execution.results`), publishes them on ``{prefix}/sessions/{id}/results`` (retained)
and emits ``test_completed``. Records that reach a session after that (a rig's spool replaying
after an outage) trigger the same recompute and announcement again.

A stop command goes only to a rig that is online and only on request: at the end of the duration
the rig, which got the same duration with the start command, has ended the session itself.
Sessions a previous process left running are picked up at startup (:meth:`resume`).

Database work runs in worker threads; the event loop only waits. Timers are tasks kept in a set
(a task nobody references can be garbage-collected mid-flight) and cancelled on shutdown.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from central.db.models import TestSession
from central.db.types import new_id, utcnow
from central.events import EventSink
from central.execution import steps
from central.execution.http_rig import HTTP_RIG_ID, store_http_detections
from central.execution.live import LiveMatching
from central.execution.loading import (
    load_session,
)
from central.execution.results import FINISHED_STATUSES, FinalResults, compute_final_results
from central.services.errors import Conflict, InvalidInput, NotFound
from protocol import (
    Command,
    CommandReply,
    SessionResults,
    StartCommand,
    StopCommand,
    Topics,
    encode,
)

__all__ = [
    "CommandSender",
    "ExecutionTimings",
    "ResultsPublisher",
    "SessionExecutor",
]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


class CommandSender(Protocol):
    async def request(self, rig_id: str, command: Command, timeout_s: float) -> CommandReply: ...


class ResultsPublisher(Protocol):
    async def publish(
        self, topic: str, payload: bytes, qos: int = 1, retain: bool = False
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class ExecutionTimings:
    ack_timeout_s: float = 5.0
    """How long a rig may take to acknowledge a start or stop command."""
    quiet_s: float = 0.3
    """At stop: records are taken as all in once none arrived for this long..."""
    max_settle_s: float = 3.0
    """...or once this much time passed since the stop."""
    publish_timeout_s: float = 5.0


class SessionExecutor:
    """Starts and stops the sessions of this central process; one per app."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        live: LiveMatching,
        commands: CommandSender | None,
        publisher: ResultsPublisher | None,
        topics: Topics,
        events: EventSink,
        timings: ExecutionTimings | None = None,
    ) -> None:
        self._factory = factory
        self.live = live
        self._commands = commands
        self._publisher = publisher
        self._topics = topics
        self._events = events
        self.timings = timings or ExecutionTimings()
        self._locks: dict[str, asyncio.Lock] = {}
        self._http_locks: dict[str, asyncio.Lock] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: dict[str, str] = {}
        """Running sessions of this process and their rigs."""
        self._rig_seen_running: set[str] = set()
        self._late_recomputes: set[str] = set()
        self._finishing: set[str] = set()
        """Sessions between the end of live judging and their stored final results."""
        live.on_sync = self._store_sync

    # ------------------------------------------------------------------------------ helpers

    def _lock(self, session_id: str) -> asyncio.Lock:
        return self._locks.setdefault(session_id, asyncio.Lock())

    async def _db(self, work: Callable[[Session], _T]) -> _T:
        def run() -> _T:
            with self._factory() as db:
                return work(db)

        return await asyncio.to_thread(run)

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("execution task %s failed", task.get_name(), exc_info=task.exception())

    # -------------------------------------------------------------------------------- start

    async def start(self, session_id: str, config: dict[str, Any] | None) -> TestSession:
        """Store ``config`` (``TestExecutionConfig`` columns; None: keep the one stored at
        creation), command the rig and await its answer.

        Returns the session as it ends up: ``running``, or ``failed`` with the reason when the
        rig refused or did not answer in time.

        :raises NotFound: no such session.
        :raises Conflict: the session is not pending, its rig is not online, or its rig runs
            another session.
        :raises InvalidInput: no config, the video has no ground truth, or the ground truth
            cannot be matched in the config's mode.
        """
        lock = self._lock(session_id)
        if lock.locked():
            raise Conflict(f"test session {session_id!r} is already being started or stopped")
        async with lock:
            prepared = await self._db(lambda db: steps.prepare_start(db, session_id, config))
            session, ground_truth, rules, duration_s, config = prepared
            try:
                self.live.open(
                    session_id,
                    session.rig_id,
                    ground_truth,
                    rules,
                    duration_s=duration_s,
                    monitored=bool(config["enable_realtime_monitoring"]),
                )
            except ValueError as exc:
                raise InvalidInput(str(exc), "mode") from None
            reply_error, sync_mono_ns = await self._command_start(session, config)
            if reply_error is not None:
                self.live.close(session_id)
                return await self._db(
                    lambda db: steps.mark(db, session_id, "failed", failure_reason=reply_error)
                )
            self.live.set_sync(session_id, sync_mono_ns)
            row = await self._db(
                lambda db: steps.mark(db, session_id, "running", started=True, sync_mono_ns=sync_mono_ns)
            )
            self._run_for(session_id, session.rig_id, duration_s)
            logger.info("session %s running on rig %s", session_id, session.rig_id)
            return row

    def _run_for(self, session_id: str, rig_id: str, duration_s: float) -> None:
        self._running[session_id] = rig_id
        self._timers[session_id] = self._spawn(
            self._stop_after(session_id, duration_s), name=f"session-timer-{session_id}"
        )

    async def _command_start(
        self, session: TestSession, config: dict[str, Any]
    ) -> tuple[str | None, int | None]:
        """(error, sync instant) of the start command; no command for a session without a rig."""
        if session.rig_id == HTTP_RIG_ID:
            return None, None
        if self._commands is None:
            return "MQTT ingest is off on this server: no rig can be commanded", None
        command = StartCommand(
            command_id=new_id(),
            session_id=session.id,
            channels=config.get("channels"),
            duration_s=float(config["test_duration"]),
            sync_channel=config.get("sync_channel"),
        )
        try:
            reply = await self._commands.request(
                session.rig_id, command, self.timings.ack_timeout_s
            )
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

    def _store_sync(self, session_id: str, sync_mono_ns: int) -> None:
        """Keep video time zero on the session as soon as its sync record arrives."""
        self._spawn(
            self._db(lambda db: steps.set_sync(db, session_id, sync_mono_ns)),
            name=f"sync-{session_id}",
        )

    # ------------------------------------------------------------------------ HTTP detections

    async def post_detections(
        self, session_id: str, detections: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Store detections posted over HTTP and return their provisional verdicts.

        :raises NotFound: no such session.
        :raises Conflict: the session is not running.
        :raises InvalidInput: a detection cannot be placed in video time.
        """
        # One writer per session, so the stream's seq numbers never collide.
        async with self._http_locks.setdefault(session_id, asyncio.Lock()):
            rows = await self._db(lambda db: store_http_detections(db, session_id, detections))
        return self.live.judge(session_id, rows)

    # --------------------------------------------------------------------------------- stop

    async def stop(self, session_id: str) -> FinalResults:
        """Stop a running session on request: tell the rig, settle, final results.

        :raises NotFound: no such session.
        :raises Conflict: the session is not running.
        """
        session = await self._db(lambda db: load_session(db, session_id))
        if session.status != "running":
            raise Conflict(f"test session {session_id!r} is {session.status}, not running")
        await self._command_stop(session)
        return await self.finish(session_id, "stopped")

    async def _command_stop(self, session: TestSession) -> None:
        """Tell the rig to stop; a rig that is not online cannot answer and is not waited for
        (its session ends on its own when the duration is over)."""
        if session.rig_id == HTTP_RIG_ID or self._commands is None:
            return
        if not await self._db(lambda db: steps.rig_online(db, session.rig_id)):
            logger.info(
                "rig %s is not online: session %s stops without it", session.rig_id, session.id
            )
            return
        command = StopCommand(command_id=new_id(), session_id=session.id)
        try:
            reply = await self._commands.request(
                session.rig_id, command, self.timings.ack_timeout_s
            )
        except (TimeoutError, RuntimeError, OSError) as exc:
            logger.warning(
                "rig %s did not confirm the stop of %s: %s", session.rig_id, session.id, exc
            )
            return
        if not reply.ok:
            logger.info("rig %s on stopping %s: %s", session.rig_id, session.id, reply.error)

    async def _stop_after(self, session_id: str, duration_s: float) -> None:
        """End the session when its duration is over. No stop command: the rig got the same
        duration with the start command and ends the session on its own clock."""
        await asyncio.sleep(duration_s)
        logger.info("session %s: its duration of %g s elapsed", session_id, duration_s)
        await self.finish(session_id, "completed", from_timer=True)

    async def on_rig_status(self, status: dict[str, Any]) -> None:
        """Ingest status listener: a rig that was seen running a session and now reports another
        (or none) has finished it. A rig that goes offline keeps its session: its spool replays
        the records when it is back, and the duration still ends the session."""
        rig_id = status.get("rig_id")
        if status.get("state") != "online":
            return
        reported = (status.get("last_status") or {}).get("session_id")
        for session_id, running_on in list(self._running.items()):
            if running_on != rig_id:
                continue
            if reported == session_id:
                self._rig_seen_running.add(session_id)
            elif session_id in self._rig_seen_running:
                self._rig_seen_running.discard(session_id)
                logger.info("rig %s no longer runs session %s", rig_id, session_id)
                self._spawn(self.finish(session_id, "completed"), name=f"rig-done-{session_id}")

    # ------------------------------------------------------------------------------- finish

    async def _settle(self, session_id: str) -> None:
        """Wait for records in flight: until none arrived for ``quiet_s`` after the stop, or
        ``max_settle_s`` at most."""
        begin = time.monotonic()
        deadline = begin + self.timings.max_settle_s
        while True:
            now = time.monotonic()
            last = max(self.live.last_arrival(session_id) or begin, begin)
            remaining = last + self.timings.quiet_s - now
            if remaining <= 0 or now >= deadline:
                return
            await asyncio.sleep(min(remaining, deadline - now))

    async def finish(
        self, session_id: str, status: str, *, from_timer: bool = False
    ) -> FinalResults:
        """End a running session with ``status`` and its final results (idempotent: a session
        already finished gets its stored results back)."""
        async with self._lock(session_id):
            timer = self._timers.pop(session_id, None)
            if timer is not None and not from_timer:
                timer.cancel()
            session = await self._db(lambda db: load_session(db, session_id))
            if session.status != "running":
                return FinalResults(session_id, session.status, session.results or {})
            await self._settle(session_id)
            self._finishing.add(session_id)
            self.live.close(session_id)
            self._running.pop(session_id, None)
            self._rig_seen_running.discard(session_id)
            try:
                final = await self._db(
                    lambda db: compute_final_results(db, session_id, status=status)
                )
            except ValueError as exc:
                logger.exception("session %s: final results failed", session_id)
                reason = f"final results could not be computed: {exc}"
                await self._db(lambda db: steps.mark(db, session_id, "failed", failure_reason=reason))
                final = FinalResults(session_id, "failed", {})
            finally:
                self._finishing.discard(session_id)
        await self._announce(final)
        return final

    async def recompute(self, session_id: str) -> FinalResults:
        """Recompute a finished session's results from its stored records and announce them
        again (MQTT results, ``test_completed``).

        :raises NotFound: no such session.
        :raises Conflict: the session has not finished.
        """
        async with self._lock(session_id):
            session = await self._db(lambda db: load_session(db, session_id))
            if session.status not in FINISHED_STATUSES:
                raise Conflict(
                    f"test session {session_id!r} is {session.status}: only a completed or "
                    "stopped session has final results to recompute"
                )
            final = await self._db(lambda db: compute_final_results(db, session_id))
        await self._announce(final)
        return final

    async def on_batch(self, batch: Any) -> None:
        """Ingest listener: records that reach a finished session (a rig's spool replaying after
        an outage) or one being finished here (they landed after live judging ended) make its
        final results stale, so they are recomputed once the records stop coming."""
        candidates = {
            row["test_session_id"]
            for row in batch.events
            if row.get("test_session_id") is not None
            and not self.live.is_open(row["test_session_id"])
        }
        if not candidates:
            return
        finished = await self._db(lambda db: steps.finished_sessions(db, candidates))
        for session_id in {*finished, *(candidates & self._finishing)}:
            if session_id not in self._late_recomputes:
                self._late_recomputes.add(session_id)
                self._spawn(self._recompute_late(session_id), name=f"late-{session_id}")

    async def _recompute_late(self, session_id: str) -> None:
        try:
            await asyncio.sleep(self.timings.quiet_s)
        finally:
            self._late_recomputes.discard(session_id)
        try:
            final = await self.recompute(session_id)
        except (Conflict, NotFound) as exc:
            logger.info("late records of session %s not scored: %s", session_id, exc)
            return
        logger.info("session %s recomputed with late records", final.session_id)

    async def _announce(self, final: FinalResults) -> None:
        await self._publish(final)
        self._events.test_completed(
            final.session_id,
            {
                "status": final.status,
                "passed": final.results.get("passed"),
                "failed_criteria": final.results.get("failedCriteria", []),
                "metrics": final.results,
            },
        )

    async def _publish(self, final: FinalResults) -> None:
        if self._publisher is None:
            return
        message = SessionResults(
            session_id=final.session_id,
            status=final.status,
            passed=final.results.get("passed"),
            failed_criteria=final.results.get("failedCriteria", []),
            metrics=final.results,
            t_wall_ns=time.time_ns(),
        )
        try:
            async with asyncio.timeout(self.timings.publish_timeout_s):
                await self._publisher.publish(
                    self._topics.results(final.session_id), encode(message), qos=1, retain=True
                )
        except (TimeoutError, RuntimeError, OSError) as exc:
            logger.warning("results of session %s not published: %s", final.session_id, exc)

    async def resume(self) -> None:
        """Pick up sessions a previous process left running: replay their stored records into
        a live matcher (so new ones are judged against everything before), judge new records
        live and end the session when its duration is over (at once when it already is)."""
        for session_id in await self._db(steps.running_session_ids):
            try:
                session, ground_truth, rules, duration_s, stored = await self._db(
                    functools.partial(steps.live_inputs, session_id=session_id)
                )
                self.live.open(
                    session_id,
                    session.rig_id,
                    ground_truth,
                    rules,
                    duration_s=duration_s,
                    monitored=session.execution_config is None
                    or session.execution_config.enable_realtime_monitoring,
                    sync_mono_ns=session.sync_mono_ns,
                )
                self.live.judge(session_id, stored, emit=False)
            except Exception:
                logger.exception("session %s left running cannot be resumed", session_id)
                continue
            started = session.started_at or utcnow()
            remaining = duration_s - (utcnow() - started).total_seconds()
            if remaining <= 0:
                await self.finish(session_id, "completed")
                logger.info("session %s, left running past its duration, completed", session_id)
                continue
            self._run_for(session_id, session.rig_id, remaining)
            logger.info("resumed session %s; it ends in %.1f s", session_id, remaining)

    async def close(self) -> None:
        """Cancel timers and pending work (sessions stay ``running`` in the database)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._timers.clear()
