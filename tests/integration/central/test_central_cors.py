"""A browser frontend on an allowed origin can read the headers the API answers with."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_allowed_origin_may_read_totals_links_export_report_and_file_name(
    client: TestClient, viewer: dict[str, str]
) -> None:
    response = client.get("/api/projects", headers={**viewer, "Origin": "http://localhost:3000"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"x-total-count", "link", "x-export-report", "content-disposition"} <= exposed


def test_other_origins_get_no_cors_grant(client: TestClient, viewer: dict[str, str]) -> None:
    response = client.get("/api/projects", headers={**viewer, "Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in response.headers
