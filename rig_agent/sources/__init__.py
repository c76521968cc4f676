"""Signal sources, one module per kind behind :class:`SignalSource`.

Backends are registered as lazy ``(module, settings class, source class)`` names so that a rig
without, say, CAN support never imports python-can.
"""

from __future__ import annotations

import importlib

from protocol import Source
from rig_agent.sources.base import (
    Capture,
    CaptureSink,
    ChannelRole,
    ChannelSettings,
    SignalSource,
    SourceError,
    SourceUnavailable,
)

__all__ = [
    "BACKENDS",
    "Capture",
    "CaptureSink",
    "ChannelRole",
    "ChannelSettings",
    "SignalSource",
    "SourceError",
    "SourceUnavailable",
    "source_class",
]

BACKENDS: dict[Source, tuple[str, str]] = {
    Source.GPIO: ("rig_agent.sources.gpio", "GpioSource"),
    Source.CAN: ("rig_agent.sources.can", "CanSource"),
    Source.SERIAL: ("rig_agent.sources.serial", "SerialSource"),
    Source.NETWORK: ("rig_agent.sources.network", "NetworkSource"),
    Source.SIMULATED: ("rig_agent.sources.simulated", "SimulatedSource"),
}


def source_class(kind: Source) -> type[SignalSource]:
    module_name, class_name = BACKENDS[kind]
    cls: type[SignalSource] = getattr(importlib.import_module(module_name), class_name)
    return cls
