"""``/`` and ``/ui/...``: the live view and review page (issue #11), and ``/ui/config``.

Every page path (``/``, ``/ui/rigs``, ``/ui/sessions/{id}``...) answers the same ``index.html``;
the page's own router picks the view, so a reload or a shared link lands on the same view. Its
files are under ``/ui/static/`` (:data:`central.ui.STATIC_DIR`, with ETag and Last-Modified).
None of this needs a token: the page holds no data, it asks the API with the token the user
enters. ``/ui/config`` tells the page whether to ask for one.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

from central.api.deps import SettingsDep
from central.schemas import CamelModel
from central.ui import STATIC_DIR

__all__ = ["RIG_STALE_AFTER_S", "UiConfigPublic", "router"]

RIG_STALE_AFTER_S = 15.0
"""A rig whose last status is older than this shows as offline: three of the rig agent's
default 5 s heartbeats missed."""

router = APIRouter(tags=["ui"], include_in_schema=False)

_static = StaticFiles(directory=STATIC_DIR)
_INDEX = STATIC_DIR / "index.html"


class UiConfigPublic(CamelModel):
    auth_required: bool
    rig_stale_after_s: float


@router.get("/ui/config", response_model=UiConfigPublic)
def ui_config(settings: SettingsDep) -> UiConfigPublic:
    return UiConfigPublic(auth_required=not settings.no_auth, rig_stale_after_s=RIG_STALE_AFTER_S)


@router.get("/ui/static/{path:path}")
async def ui_static(path: str, request: Request) -> Response:
    """A file of the page; 404 outside ``STATIC_DIR``."""
    return await _static.get_response(path, request.scope)


@router.get("/")
@router.get("/ui")
@router.get("/ui/{view:path}")
def ui_page() -> FileResponse:
    return FileResponse(_INDEX, media_type="text/html", headers={"Cache-Control": "no-cache"})
