"""docs/socketio-asyncapi.yaml is what a dashboard is built from: it must not drift from the
models that build the payloads, and it must be a document that resolves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

from central.realtime.asyncapi import render
from central.schemas.events import CLIENT_EVENTS, SERVER_EVENTS

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "socketio-asyncapi.yaml"


def test_committed_document_matches_the_models() -> None:
    assert COMMITTED.read_text() == render(), (
        "docs/socketio-asyncapi.yaml is stale: run "
        "python -m central.realtime.asyncapi docs/socketio-asyncapi.yaml"
    )


def test_cli_writes_the_document(tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    subprocess.run([sys.executable, "-m", "central.realtime.asyncapi", str(target)], check=True)
    assert target.read_text() == render()


def test_every_event_has_a_message_and_every_reference_resolves() -> None:
    document = yaml.safe_load(COMMITTED.read_text())
    messages = document["channels"]["root"]["messages"]
    assert set(messages) == {*SERVER_EVENTS, *CLIENT_EVENTS, "ack"}
    for name, message in messages.items():
        assert message["name"] == name
        if "payload" in message:
            jsonschema.Draft202012Validator.check_schema(message["payload"])
    unresolved = [ref for ref in _refs(document) if _resolve(document, ref) is None]
    assert unresolved == []


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _resolve(document: dict[str, object], ref: str) -> object:
    node: object = document
    for part in ref.removeprefix("#/").split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node
