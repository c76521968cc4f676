"""The page central serves at ``/`` and ``/ui/...``: hand-written ES modules, no build step.

Nothing here is Python but :data:`STATIC_DIR`; :mod:`central.api.routes.ui` serves the files.
``static/vendor/`` holds the one third-party file, the Socket.IO browser client, as published on
the npm registry (its version and licence: docs/ui.md).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["STATIC_DIR"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
