"""Every router of the API; :func:`central.app.create_app` includes each one of ``ROUTERS``.

To add a resource: write ``routes/<resource>.py`` with a module-level ``router`` and add one line
here.
"""

from fastapi import APIRouter

from central.api.routes import health, projects

__all__ = ["ROUTERS"]

ROUTERS: list[APIRouter] = [
    health.router,
    projects.router,
]
