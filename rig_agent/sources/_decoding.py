"""Base of the sources that decode what they receive (serial, network, CAN)."""

from __future__ import annotations

from rig_agent.clock import RigClock
from rig_agent.sources._fields import DECODE_ERROR
from rig_agent.sources.base import Capture, CaptureSink, ChannelSettings, SignalSource

__all__ = ["DecodingSource"]


class DecodingSource(SignalSource):
    """Counts the captures whose decoding reported a problem.

    Such captures are delivered all the same, raw kept and the reason under ``decode_error``:
    they are not losses, so they are counted in ``undecoded``, not in ``drops``.
    """

    def __init__(self, settings: ChannelSettings, sink: CaptureSink, clock: RigClock) -> None:
        super().__init__(settings, sink, clock)
        self.undecoded = 0
        """Captures delivered with a ``decode_error``."""

    def _deliver(self, capture: Capture) -> None:
        if DECODE_ERROR in capture.decoded:
            self.undecoded += 1
        super()._deliver(capture)
