"""Ingest: records and rig status from MQTT into the database, acknowledged after commit.

The public surface: :class:`Ingestor` (one per app, on its own engine), the
:class:`IngestedBatch` each commit hands to listeners, and the :class:`CommandChannel` that sends
commands to rigs and awaits their replies. The MQTT client, the embedded broker and the queries
behind the rigs and dead-letters endpoints are modules of their own; ``_decode``, ``_rows`` and
``_store`` are the ingestor's private steps.
"""

from central.ingest.commands import CommandChannel, CommandTimeout
from central.ingest.ingestor import IngestedBatch, Ingestor, IngestStats

__all__ = ["CommandChannel", "CommandTimeout", "IngestStats", "IngestedBatch", "Ingestor"]
