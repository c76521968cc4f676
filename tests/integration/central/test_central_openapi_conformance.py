"""The OpenAPI description is what the server does: schemathesis generates requests to every
operation from ``/openapi.json`` alone and checks that each answer has a declared status and
matches the declared schema of that status.

Bounded (a few examples per operation) so that it stays a part of the main suite; the same
checks with more cases and schemathesis' coverage phase, against a running server:
``schemathesis run http://127.0.0.1:8000/openapi.json -c
status_code_conformance,response_schema_conformance -H 'Authorization: Bearer vru_...'``.

schemathesis' own pytest loader (``from_fixture``) reads a pytest internal that pytest 9 dropped,
so each operation's strategy is driven here with hypothesis directly.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from central.auth import Role

EXAMPLES_PER_OPERATION = 4


def test_every_operation_answers_as_described(
    app: FastAPI, client: TestClient, auth_headers: dict[Role, dict[str, str]]
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    failures: dict[str, str] = {}
    cases = 0

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_described(case: Any) -> None:
            nonlocal cases
            cases += 1
            case.call_and_validate(
                headers=auth_headers[Role.ADMIN],
                checks=[status_code_conformance, response_schema_conformance],
            )

        try:
            answers_as_described()
        except Exception as exc:  # noqa: BLE001 - each operation's failure is reported below
            failures[operation.label] = str(exc)

    print(f"schemathesis: {len(operations)} operations, {cases} cases, {len(failures)} failures")
    assert len(operations) > 50
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
