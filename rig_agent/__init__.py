"""The rig agent: timestamps the system under test's signals and streams them to central over MQTT.

Run it with ``rig-agent run --config rig.toml``; check a config with ``rig-agent check``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("vru-rig")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
