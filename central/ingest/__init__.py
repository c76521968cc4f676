"""Ingest: records and rig status from MQTT into the database, acknowledged after commit."""
