"""A supervised reader thread: capture that fails is logged, reported and retried, never silent.

python-can's ``Notifier`` shows the failure this avoids: when its reader thread raises, the thread
ends and nothing else notices. Here ``read_once`` is called in a loop; an exception is recorded on
the source (``last_error``, logged once at ERROR), the device is reopened with capped exponential
backoff, and the loop goes on until ``stop``.

Readers that stamp in user space in this process (serial URL ports, CAN interfaces without kernel
stamps, gpiozero factories without edge ticks) take their stamp only once their thread holds the
GIL. CPython lets a running thread keep the GIL for the switch interval (5 ms by default) before
a waiting one gets it, so one busy thread elsewhere in the agent would move those stamps by
milliseconds. :func:`bound_switch_interval` lowers the interval for the process; the cost is a
few more GIL hand-overs while threads contend.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable

from rig_agent.sources.base import SignalSource

__all__ = ["USER_STAMP_SWITCH_INTERVAL_S", "SupervisedReader", "bound_switch_interval"]

logger = logging.getLogger(__name__)

USER_STAMP_SWITCH_INTERVAL_S = 0.0001
_FIRST_BACKOFF_S = 0.05
_MAX_BACKOFF_S = 2.0


def bound_switch_interval(limit_s: float = USER_STAMP_SWITCH_INTERVAL_S) -> None:
    """Lower the interpreter's GIL switch interval to ``limit_s`` unless it is already lower."""
    current = sys.getswitchinterval()
    if current > limit_s:
        sys.setswitchinterval(limit_s)
        logger.info(
            "GIL switch interval lowered from %.0f us to %.0f us so user-space stamps stay close "
            "to the signal",
            current * 1e6,
            limit_s * 1e6,
        )


class SupervisedReader:
    """Calls ``read_once`` (which must return within a short timeout) until :meth:`stop`.

    ``reopen`` is called after a failure, before reading again; when it fails too, the loop waits
    longer and tries again.
    """

    def __init__(
        self,
        source: SignalSource,
        read_once: Callable[[], None],
        reopen: Callable[[], None] | None = None,
    ) -> None:
        self._source = source
        self._read_once = read_once
        self._reopen = reopen
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"reader-{source.name}", daemon=True)
        self.failures = 0
        """Exceptions raised by ``read_once`` or ``reopen`` so far."""

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stopping.set()
        if self._thread is threading.current_thread() or not self._thread.is_alive():
            return
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            logger.warning(
                "reader of channel %s did not stop within %.1f s", self._source.name, timeout_s
            )

    def _run(self) -> None:
        backoff_s = _FIRST_BACKOFF_S
        failing = False
        try:
            while not self._stopping.is_set():
                try:
                    if failing and self._reopen is not None:
                        self._reopen()
                    self._read_once()
                except Exception as exc:
                    if self._stopping.is_set():
                        break
                    self.failures += 1
                    logger.debug("reader of channel %s failed", self._source.name, exc_info=True)
                    self._source._record_error(
                        f"reading failed ({type(exc).__name__}: {exc}); retrying"
                    )
                    failing = True
                    self._stopping.wait(backoff_s)
                    backoff_s = min(backoff_s * 2, _MAX_BACKOFF_S)
                    continue
                if failing:
                    failing = False
                    backoff_s = _FIRST_BACKOFF_S
                    self._source.last_error = None
                    logger.info("channel %s is reading again", self._source.name)
        finally:
            if not self._stopping.is_set():
                logger.critical("reader of channel %s ended unexpectedly", self._source.name)
