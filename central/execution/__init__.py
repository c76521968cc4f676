"""Execution: running test sessions, live matching while they run, and their final results.

:class:`SessionExecutor` starts and stops sessions (its database steps are in ``steps``);
:class:`LiveMatching` gives every stored record a provisional verdict; ``results`` computes the
final one in one deterministic pass; ``loading`` reads the matcher's inputs; ``queries`` serves
the results endpoints; ``http_rig`` stores detections of sessions without a rig.
"""

from central.execution.executor import ExecutionTimings, SessionExecutor
from central.execution.live import LiveMatching
from central.execution.results import FinalResults

__all__ = ["ExecutionTimings", "FinalResults", "LiveMatching", "SessionExecutor"]
