"""``docs/socketio-asyncapi.yaml``: the Socket.IO events as an AsyncAPI 3 document, generated from
the payload models of :mod:`central.schemas.events`, so the document cannot drift from what the
emitter sends (a test compares the committed file with a fresh one).

Socket.IO has no binding of its own in AsyncAPI: the server's ``ws`` binding and ``x-socketio``
fields say how it rides on Engine.IO v4 (path ``/socket.io/``, namespace ``/``, the auth object,
event names as message names, acknowledgements as operation replies).

    python -m central.realtime.asyncapi docs/socketio-asyncapi.yaml
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter

from central.schemas.events import CLIENT_EVENTS, SERVER_EVENTS, Ack, EventSpec

__all__ = ["document", "main", "render"]

_HEADER = """\
# The Socket.IO side of central: every event between the server and a dashboard, with its rooms.
# Generated from central/schemas/events.py: python -m central.realtime.asyncapi docs/socketio-asyncapi.yaml
"""
_REF = "#/components/schemas/{model}"


def _schema_ref(payload: Any, schemas: dict[str, Any], name: str) -> dict[str, Any]:
    """Put ``payload``'s JSON Schema (and everything it refers to) among ``schemas``."""
    schema = TypeAdapter(payload).json_schema(mode="serialization", ref_template=_REF)
    schemas.update(schema.pop("$defs", {}))
    if "$ref" in schema:
        return schema
    schemas[name] = schema
    return {"$ref": _REF.format(model=name)}


def _message(
    event: str, spec: EventSpec, schemas: dict[str, Any], direction: str
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": event,
        "title": event,
        "summary": spec.when,
        "x-socketio": {"event": event, "direction": direction, "rooms": spec.rooms},
    }
    if spec.payload is not None:
        # A model under its own name; a union under the event's.
        title = "".join(part.title() for part in event.split("_"))
        name = spec.payload.__name__ if isinstance(spec.payload, type) else f"{title}Payload"
        message["payload"] = _schema_ref(spec.payload, schemas, name)
    return message


def document() -> dict[str, Any]:
    """The AsyncAPI 3 document, as a plain mapping."""
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for event, spec in SERVER_EVENTS.items():
        messages[event] = _message(event, spec, schemas, "server to client")
        operations[f"send_{event}"] = {
            "action": "send",
            "channel": {"$ref": "#/channels/root"},
            "summary": f"to {spec.rooms}",
            "messages": [{"$ref": f"#/channels/root/messages/{event}"}],
        }
    messages["ack"] = {
        "name": "ack",
        "title": "acknowledgement",
        "summary": "the server's answer to a client event (a Socket.IO ack, not an event)",
        "payload": _schema_ref(Ack, schemas, "Ack"),
    }
    for event, spec in CLIENT_EVENTS.items():
        messages[event] = _message(event, spec, schemas, "client to server")
        operations[f"receive_{event}"] = {
            "action": "receive",
            "channel": {"$ref": "#/channels/root"},
            "summary": f"{spec.rooms}; {spec.when}",
            "messages": [{"$ref": f"#/channels/root/messages/{event}"}],
            "reply": {
                "channel": {"$ref": "#/channels/root"},
                "messages": [{"$ref": "#/channels/root/messages/ack"}],
            },
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "VRU rig central, Socket.IO",
            "version": "1",
            "description": (
                "Live events of central for dashboards (docs/realtime.md). Payloads are JSON in "
                "camelCase, as the REST API; client events also accept snake_case keys "
                "(test_session_id). Rooms: dashboard, video_{id}, test_session_{id}; a client "
                "joins and leaves them with the join_* and leave_* events, each acknowledged."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "central": {
                "host": "127.0.0.1:8000",
                "pathname": "/socket.io/",
                "protocol": "ws",
                "description": "Socket.IO (Engine.IO v4) on the REST API's host and port.",
                "bindings": {"ws": {"bindingVersion": "0.1.0"}},
                "x-socketio": {
                    "version": 5,
                    "auth": "{token: <API token>} or an Authorization: Bearer header; any role",
                },
            }
        },
        "channels": {
            "root": {
                "address": "/",
                "title": "the default namespace",
                "description": "Every event travels in namespace /; x-socketio.rooms says where.",
                "messages": messages,
            }
        },
        "operations": operations,
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def render() -> str:
    return _HEADER + yaml.safe_dump(document(), sort_keys=False, width=100, allow_unicode=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m central.realtime.asyncapi PATH", file=sys.stderr)
        return 2
    Path(args[0]).write_text(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
