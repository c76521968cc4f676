"""Every router of the API; :func:`central.app.create_app` includes each one of ``ROUTERS``.

To add a resource: write ``routes/<resource>.py`` with a module-level ``router`` and add one line
here.
"""

from fastapi import APIRouter

from central.api.routes import (
    analytics,
    annotation_io,
    annotation_sessions,
    annotations,
    dataset_downloads,
    datasets,
    dead_letters,
    detection_io,
    evaluation,
    execution,
    health,
    links,
    projects,
    results,
    rigs,
    test_sessions,
    tokens,
    ui,
    videos,
)

__all__ = ["ROUTERS"]

ROUTERS: list[APIRouter] = [
    health.router,
    projects.router,
    test_sessions.router,
    tokens.router,
    dataset_downloads.router,
    datasets.router,  # before videos: /api/videos/statistics is not a video id
    videos.router,
    annotations.router,
    annotation_sessions.router,
    links.router,
    rigs.router,
    dead_letters.router,
    execution.router,
    detection_io.router,
    results.router,
    evaluation.router,
    analytics.router,
    annotation_io.router,
    ui.router,  # last: it answers every /ui/... page path
]
