"""Export the JSON Schema of every wire message, for subscribers written in other languages.

Usage: ``python -m protocol.schema DIR`` writes one ``<name>.schema.json`` per message into DIR.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
from pydantic import TypeAdapter

from protocol.messages import (
    Command,
    CommandReply,
    RecordBatch,
    RigStatus,
    SessionResults,
    StreamAck,
)

__all__ = ["MESSAGE_SCHEMAS", "json_schemas", "main", "write_schemas"]

MESSAGE_SCHEMAS: dict[str, Any] = {
    "record_batch": RecordBatch,
    "rig_status": RigStatus,
    "command": Command,
    "command_reply": CommandReply,
    "session_results": SessionResults,
    "stream_ack": StreamAck,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """Return the JSON Schema of each message, keyed by file stem."""
    return {name: TypeAdapter(tp).json_schema() for name, tp in MESSAGE_SCHEMAS.items()}


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        schema.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
        path = directory / f"{name}.schema.json"
        path.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in {"-h", "--help"}:
        print("usage: python -m protocol.schema DIR", file=sys.stderr)
        return 2
    for path in write_schemas(Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
