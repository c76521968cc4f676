"""``/api/videos`` and ``/api/projects/{id}/videos``: operators upload and delete, viewers read.

An upload is ``multipart/form-data`` with the video in field ``file`` and, on ``/api/videos``, an
optional ``projectId`` (none = the ground-truth library). The body is streamed to disk as it
arrives and stopped at the size limit (413); a file that is not a video is refused (415).
``/stream`` serves the file with HTTP Range support (206 partial content, 416 unsatisfiable),
which the frontend's player needs to seek. A ``<video>`` element cannot send a bearer token, so
``/stream-link`` gives a viewer a signed, expiring URL of the stream that needs none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from central.api.deps import EventsDep, FactoryDep, SessionDep, SettingsDep, require_role
from central.api.pagination import set_total
from central.auth import Role
from central.config import CentralSettings
from central.events import EventSink
from central.schemas.base import Page
from central.schemas.videos import StreamLinkPublic, VideoPublic
from central.services import stream_links, videos
from central.services.errors import InvalidInput, NotFound
from central.services.uploads import receive_multipart_upload

__all__ = ["router"]

router = APIRouter(tags=["videos"])

_FILE_FIELD = "file"
_PROJECT_FIELDS = ("projectId", "project_id")
_UPLOAD_RESPONSES: dict[int | str, dict[str, str]] = {
    413: {"description": "The file is larger than the upload limit"},
    415: {"description": "The file is not a video"},
}


async def _upload(
    request: Request,
    session: Session,
    settings: CentralSettings,
    events: EventSink,
    project_id: str | None,
) -> VideoPublic:
    upload = await receive_multipart_upload(
        request.stream(),
        request.headers.get("content-type"),
        file_field=_FILE_FIELD,
        directory=videos.videos_dir(settings.data_dir),
        max_file_bytes=settings.max_upload_bytes,
        declared_length=_content_length(request),
    )
    sent = next((upload.fields[name] for name in _PROJECT_FIELDS if upload.fields.get(name)), None)
    if project_id is not None and sent not in (None, project_id):
        upload.path.unlink(missing_ok=True)
        raise InvalidInput("The form's projectId differs from the project in the URL.", "projectId")
    video = await run_in_threadpool(
        videos.store_uploaded_video,
        session,
        upload,
        project_id=project_id or sent,
        data_dir=settings.data_dir,
        events=events,
    )
    return VideoPublic.model_validate(video)


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


@router.post(
    "/api/videos",
    response_model=VideoPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_role(Role.OPERATOR))],
    responses=_UPLOAD_RESPONSES,
)
async def upload_video(
    request: Request, session: SessionDep, settings: SettingsDep, events: EventsDep
) -> VideoPublic:
    """Upload a video (form field ``file``), into project ``projectId`` or the library."""
    return await _upload(request, session, settings, events, None)


@router.post(
    "/api/projects/{project_id}/videos",
    response_model=VideoPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_role(Role.OPERATOR))],
    responses=_UPLOAD_RESPONSES,
)
async def upload_project_video(
    project_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    events: EventsDep,
) -> VideoPublic:
    """Upload a video (form field ``file``) into this project."""
    await run_in_threadpool(videos.require_project, session, project_id)
    return await _upload(request, session, settings, events, project_id)


@router.get(
    "/api/videos",
    response_model=list[VideoPublic],
    dependencies=[Depends(require_role(Role.VIEWER))],
)
def list_videos(
    session: SessionDep,
    response: Response,
    page: Annotated[Page, Query()],
    project_id: Annotated[str | None, Query(alias="projectId")] = None,
    library: Annotated[bool, Query(description="only ground-truth library videos")] = False,
) -> list[VideoPublic]:
    rows, total = videos.list_videos(
        session, project_id=project_id, library_only=library, limit=page.limit, offset=page.offset
    )
    set_total(response, total)
    return [VideoPublic.model_validate(row) for row in rows]


@router.get(
    "/api/projects/{project_id}/videos",
    response_model=list[VideoPublic],
    dependencies=[Depends(require_role(Role.VIEWER))],
)
def list_project_videos(
    project_id: str, session: SessionDep, response: Response, page: Annotated[Page, Query()]
) -> list[VideoPublic]:
    """The videos uploaded into this project (linked library videos: ``/videos/linked``)."""
    rows, total = videos.list_videos(
        session, project_id=project_id, limit=page.limit, offset=page.offset
    )
    set_total(response, total)
    return [VideoPublic.model_validate(row) for row in rows]


@router.get(
    "/api/videos/{video_id}",
    response_model=VideoPublic,
    dependencies=[Depends(require_role(Role.VIEWER))],
)
def get_video(video_id: str, session: SessionDep) -> VideoPublic:
    return VideoPublic.model_validate(videos.get_video(session, video_id))


@router.delete(
    "/api/videos/{video_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require_role(Role.OPERATOR))],
)
def delete_video(video_id: str, session: SessionDep, settings: SettingsDep) -> None:
    """Delete the video, its file, annotations, annotation sessions and links."""
    videos.delete_video(session, video_id, data_dir=settings.data_dir)


_bearer = HTTPBearer(auto_error=False)
_viewer = require_role(Role.VIEWER)


def _viewer_or_signed_link(
    video_id: str,
    settings: SettingsDep,
    factory: FactoryDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    expires: Annotated[int | None, Query(description="of a link from /stream-link")] = None,
    signature: Annotated[str | None, Query(max_length=128)] = None,
) -> None:
    """A viewer's bearer token, or the signature of a link from ``/stream-link``."""
    if credentials is None and expires is not None and signature is not None:
        if not stream_links.verify_link(settings.data_dir, video_id, expires, signature):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "the stream link is invalid or has expired: ask /stream-link for a new one",
            )
        return
    _viewer(settings, factory, credentials)


_viewer_or_signed_link.required_role = Role.VIEWER  # type: ignore[attr-defined]  # for the docs


@router.get(
    "/api/videos/{video_id}/stream-link",
    response_model=StreamLinkPublic,
    dependencies=[Depends(_viewer)],
)
def stream_link(video_id: str, session: SessionDep, settings: SettingsDep) -> StreamLinkPublic:
    """A signed URL of the stream that needs no token, for a ``<video>`` element's ``src``;
    it expires after six hours."""
    videos.get_video(session, video_id)
    link = stream_links.make_link(settings.data_dir, video_id)
    return StreamLinkPublic(
        url=f"/api/videos/{video_id}/stream?expires={link.expires}&signature={link.signature}",
        expires_at=datetime.fromtimestamp(link.expires, UTC),
    )


@router.head(
    "/api/videos/{video_id}/stream",
    dependencies=[Depends(_viewer_or_signed_link)],
    include_in_schema=False,
)
@router.get(
    "/api/videos/{video_id}/stream",
    response_class=FileResponse,
    dependencies=[Depends(_viewer_or_signed_link)],
    responses={206: {"description": "Partial content"}, 416: {"description": "Bad range"}},
)
def stream_video(video_id: str, session: SessionDep, settings: SettingsDep) -> FileResponse:
    """The video file; honours ``Range: bytes=a-b``, ``bytes=a-`` and ``bytes=-n``. Needs a
    viewer's token, or the ``expires`` and ``signature`` of a link from ``/stream-link``."""
    video = videos.get_video(session, video_id)
    path = videos.video_file(video, settings.data_dir)
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise NotFound("file of video", video_id) from exc
    return FileResponse(path, media_type=video.content_type, stat_result=stat)
