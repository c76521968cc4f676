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

Of several centrals on one database, only a session's owner (:mod:`central.execution.lease`)
commands its rig, runs its timer, judges live (with ``peers`` also what other centrals ingested,
:mod:`central.execution.peers`) and runs the final pass. A stop at another central is stored
for the owner to carry out, or takes the session over when the owner's lease expired; free
leases are taken over at startup and every ``renew_s`` (:meth:`resume`).

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
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from central.db.models import TestSession
from central.db.types import utcnow
from central.events import EventSink
from central.execution import lease, rig_commands, steps
from central.execution.announce import ResultsAnnouncer, ResultsPublisher
from central.execution.drops import DropWatch
from central.execution.http_rig import store_http_detections
from central.execution.lease import LeaseTimings
from central.execution.live import LiveMatching
from central.execution.loading import load_session
from central.execution.peers import PeerRecords
from central.execution.results import (
    FINISHED_STATUSES,
    FinalResults,
    compute_final_results,
    finalize,
)
from central.execution.rig_commands import CommandSender
from central.services.errors import Conflict, InvalidInput, NotFound
from protocol import Topics

__all__ = ["CommandSender", "ExecutionTimings", "ResultsPublisher", "SessionExecutor"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


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
    """Starts and stops the sessions this central owns; one per app.

    ``instance_id`` names this central in session leases; ``peers``: other centrals share the
    ingest, so the records they store are polled for (not needed by a single central)."""

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
        instance_id: str = "central",
        lease_timings: LeaseTimings | None = None,
        peers: bool = False,
    ) -> None:
        self._factory = factory
        self.live = live
        self._commands = commands
        self.timings = timings or ExecutionTimings()
        self._announcer = ResultsAnnouncer(
            publisher, topics, events, self.timings.publish_timeout_s
        )
        self.instance_id = instance_id
        self.lease_timings = lease_timings or LeaseTimings()
        self._peers = PeerRecords(self._db, live) if peers else None
        self._locks: dict[str, asyncio.Lock] = {}
        self._http_locks: dict[str, asyncio.Lock] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._watches: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: dict[str, str] = {}
        """Running sessions this central owns, and their rigs."""
        self._stopping: set[str] = set()
        self._rig_seen_running: set[str] = set()
        self._late_recomputes: set[str] = set()
        self._finishing: set[str] = set()
        """Sessions between the end of live judging and their stored final results."""
        self._drops = DropWatch()
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
            if not await self._take(session_id, "pending"):
                raise Conflict(f"test session {session_id!r} is being started by another central")
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
            reply_error, sync_mono_ns = await rig_commands.start(
                self._commands, session, config, self.timings.ack_timeout_s
            )
            if reply_error is not None:
                self.live.close(session_id)
                return await self._db(
                    lambda db: steps.mark(db, session_id, "failed", failure_reason=reply_error)
                )
            self.live.set_sync(session_id, sync_mono_ns)
            row = await self._db(
                lambda db: steps.mark(
                    db, session_id, "running", started=True, sync_mono_ns=sync_mono_ns
                )
            )
            self._run_for(session_id, session.rig_id, duration_s)
            logger.info("session %s running on rig %s", session_id, session.rig_id)
            return row

    def _run_for(self, session_id: str, rig_id: str, duration_s: float) -> None:
        self._running[session_id] = rig_id
        self._drops.begin(session_id, rig_id)
        self._timers[session_id] = self._spawn(
            self._stop_after(session_id, duration_s), name=f"session-timer-{session_id}"
        )
        self._watches[session_id] = self._spawn(
            self._watch(session_id), name=f"session-lease-{session_id}"
        )

    # ------------------------------------------------------------------------------- lease

    async def _take(self, session_id: str, status: str) -> bool:
        me, lease_s = self.instance_id, self.lease_timings.lease_s
        return await self._db(lambda db: lease.take(db, session_id, me, lease_s, status))

    async def _watch(self, session_id: str) -> None:
        """While the session runs here: renew its lease, carry out a stop requested at another
        central, and judge the records other centrals ingested."""
        timings = self.lease_timings
        renewed = -timings.renew_s  # renew at the first look: the start waited for the rig
        while True:
            await asyncio.sleep(timings.poll_s)
            renew = time.monotonic() - renewed >= timings.renew_s
            lease_s = timings.lease_s if renew else None
            try:
                state = await self._db(
                    lambda db, n=lease_s: lease.check(db, session_id, self.instance_id, n)
                )
                if renew:
                    renewed = time.monotonic()
                if state.held and self._peers is not None:
                    await self._peers.catch_up(session_id)
            except Exception:
                logger.exception("session %s: lease check failed; trying again", session_id)
                continue
            if not state.held:
                logger.warning("session %s: its lease went to another central", session_id)
                self._drop(session_id)
                return
            if state.stop_requested and session_id not in self._stopping:
                self._spawn(self.stop(session_id), name=f"requested-stop-{session_id}")
                return

    def _drop(self, session_id: str) -> None:
        """Forget a session this central no longer owns (no final pass here)."""
        if (timer := self._timers.pop(session_id, None)) is not None:
            timer.cancel()
        self.live.close(session_id)
        self._running.pop(session_id, None)
        self._rig_seen_running.discard(session_id)
        self._drops.end(session_id)

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
        """Stop a running session on request: tell the rig, settle, final results. The request
        is stored first, so it survives a crash of its owner; at a central that does not own
        the session, the owner carries it out (see :meth:`_await_owner`).

        :raises NotFound: no such session.
        :raises Conflict: the session is not running, or its owner did not end it in time.
        """
        session = await self._db(lambda db: load_session(db, session_id))
        if session.status != "running":
            raise Conflict(f"test session {session_id!r} is {session.status}, not running")
        await self._db(lambda db: lease.request_stop(db, session_id))
        self._stopping.add(session_id)
        try:
            if session_id not in self._running and not await self._adopt(session_id):
                return await self._await_owner(session_id)
            online = await self._db(lambda db: steps.rig_online(db, session.rig_id))
            await rig_commands.stop(self._commands, session, online, self.timings.ack_timeout_s)
            return await self.finish(session_id, "stopped")
        finally:
            self._stopping.discard(session_id)

    async def _await_owner(self, session_id: str) -> FinalResults:
        """Wait for the session's owner (another central) to finish it; take it over when the
        owner's lease expires meanwhile."""
        timings = self.timings
        patience = timings.ack_timeout_s + timings.max_settle_s + self.lease_timings.lease_s
        deadline = time.monotonic() + patience + 10.0
        while time.monotonic() < deadline:
            session = await self._db(lambda db: load_session(db, session_id))
            if session.status != "running":
                return FinalResults(session_id, session.status, session.results or {})
            if await self._adopt(session_id):
                return await self.stop(session_id)
            await asyncio.sleep(min(self.lease_timings.poll_s, 0.1))
        raise Conflict(
            f"test session {session_id!r} is run by central {session.owner_id!r}, which did not "
            "stop it in time; it will when it can"
        )

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
        self._drops.observe(status)
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

    async def finish(
        self, session_id: str, status: str, *, from_timer: bool = False
    ) -> FinalResults:
        """End a running session with ``status`` and its final results (idempotent: a session
        already finished gets its stored results back)."""
        async with self._lock(session_id):
            timer = self._timers.pop(session_id, None)
            if timer is not None and not from_timer:
                timer.cancel()
            watch = self._watches.pop(session_id, None)
            if watch is not None and watch is not asyncio.current_task():
                watch.cancel()
            session = await self._db(lambda db: load_session(db, session_id))
            if session.status != "running":
                self._drop(session_id)
                return FinalResults(session_id, session.status, session.results or {})
            await self.live.settle(session_id, self.timings.quiet_s, self.timings.max_settle_s)
            if self._peers is not None:
                await self._peers.catch_up(session_id, everything=True)
            self._finishing.add(session_id)
            self.live.close(session_id)
            self._running.pop(session_id, None)
            self._rig_seen_running.discard(session_id)
            dropped = self._drops.end(session_id)
            try:
                done = await self._db(
                    lambda db: finalize(db, session_id, self.instance_id, status, dropped)
                )
                if done is None:  # another central's final pass came first: it announced
                    stored = await self._db(lambda db: load_session(db, session_id))
                    return FinalResults(session_id, stored.status, stored.results or {})
                final = done
            except ValueError as exc:
                logger.exception("session %s: final results failed", session_id)
                reason = f"final results could not be computed: {exc}"
                await self._db(
                    lambda db: steps.mark(db, session_id, "failed", failure_reason=reason)
                )
                final = FinalResults(session_id, "failed", {})
            finally:
                self._finishing.discard(session_id)
        await self._announcer.announce(final)
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
        await self._announcer.announce(final)
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

    async def resume(self) -> None:
        """Take over the sessions whose lease is free now (left running by a previous process),
        then keep looking every ``renew_s`` (a central that stopped renewing)."""
        await self._adopt_free()
        self._spawn(self._take_over_forever(), name="session-takeover")

    async def _take_over_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_timings.renew_s)
            try:
                await self._adopt_free()
            except Exception:
                logger.exception("looking for sessions to take over failed; trying again")

    async def _adopt_free(self) -> None:
        me = self.instance_id
        for session_id in await self._db(lambda db: lease.adoptable(db, me)):
            if session_id not in self._running:
                await self._adopt(session_id)

    async def _adopt(self, session_id: str) -> bool:
        """Take the running session's lease if it is free, then run it here: replay its stored
        records into a live matcher (so new ones are judged against everything before), judge
        new records live and end it when its duration is over, at once when it already is or a
        stop was requested. False: another central holds the lease."""
        if session_id in self._running:
            return True
        if not await self._take(session_id, "running"):
            return False
        try:
            inputs = await self._db(functools.partial(steps.live_inputs, session_id=session_id))
            self.live.reopen(inputs)
        except Exception:
            logger.exception("session %s left running cannot be resumed", session_id)
            return True
        session, duration_s = inputs.session, inputs.duration_s
        remaining = duration_s - (utcnow() - (session.started_at or utcnow())).total_seconds()
        if remaining <= 0 and session.stop_requested_at is None:
            await self.finish(session_id, "completed")
            logger.info("session %s, left running past its duration, completed", session_id)
            return True
        self._run_for(session_id, session.rig_id, max(remaining, 0.0))
        if session.stop_requested_at is not None and session_id not in self._stopping:
            logger.info("session %s: taken over with a stop requested", session_id)
            self._spawn(self.stop(session_id), name=f"requested-stop-{session_id}")
        logger.info("took over session %s; it ends in %.1f s", session_id, max(remaining, 0.0))
        return True

    async def close(self) -> None:
        """Cancel timers and pending work (sessions stay ``running`` in the database) and let
        this central's leases expire, so that another central takes its sessions over now."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._timers.clear()
        self._watches.clear()
        if self._running:
            me = self.instance_id
            try:
                await self._db(lambda db: lease.release(db, me))
            except Exception:
                logger.exception("leases not released: other centrals wait for them to expire")
