"""Checks a received Socket.IO payload against docs/socketio-asyncapi.yaml alone: the document a
dashboard is built from, not the Python models behind it."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "socketio-asyncapi.yaml"


@cache
def _validators() -> dict[str, jsonschema.Draft202012Validator]:
    document = yaml.safe_load(DOCUMENT.read_text())
    components = {"components": document["components"]}
    return {
        name: jsonschema.Draft202012Validator(
            {**message["payload"], **components}, format_checker=jsonschema.FormatChecker()
        )
        for name, message in document["channels"]["root"]["messages"].items()
        if "payload" in message
    }


def assert_fits_the_document(event: str, payload: Any) -> None:
    """Fail unless ``event`` is in the document and ``payload`` is valid for its message."""
    validators = _validators()
    assert event in validators, f"{event} is not in {DOCUMENT.name}"
    errors = sorted(validators[event].iter_errors(payload), key=str)
    assert not errors, f"{event} off the document: {[e.message for e in errors]}\n{payload}"
