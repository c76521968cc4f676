"""``GET /api/datasets/export/{id}/download``: the zip of a dataset export answered as JSON.

Its own router, since it takes no bearer token: the signed URL from ``POST /api/datasets/export``
(``expires``, ``signature``) is the credential, so a plain link or ``window.location`` can fetch
it (see :mod:`central.services.dataset_downloads`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from central.api.deps import EventsDep, FactoryDep, SettingsDep
from central.api.routes.annotation_io import streamed_export_response
from central.auth import Role
from central.services import dataset_downloads, datasets

__all__ = ["router"]

router = APIRouter(tags=["datasets"])


def _signed_link(
    export_id: str,
    settings: SettingsDep,
    expires: Annotated[int, Query(description="of the link from POST /api/datasets/export")],
    signature: Annotated[str, Query(max_length=128)],
) -> None:
    if not dataset_downloads.verify_link(settings.data_dir, export_id, expires, signature):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the download link is invalid or has expired: ask POST /api/datasets/export again",
        )


# The link is handed to a viewer; the docs say so (x-required-role).
_signed_link.required_role = Role.VIEWER  # type: ignore[attr-defined]


@router.get(
    "/api/datasets/export/{export_id}/download",
    response_class=StreamingResponse,
    dependencies=[Depends(_signed_link)],
    responses={200: {"content": {"application/zip": {}}, "description": "The dataset, streamed"}},
)
async def download_dataset(
    export_id: str, settings: SettingsDep, factory: FactoryDep, events: EventsDep
) -> StreamingResponse:
    """The dataset zip, as the export request would have streamed it."""
    stored = dataset_downloads.load_request(settings.data_dir, export_id)
    selection = datasets.DatasetSelection(project_id=stored.project_id, video_ids=stored.video_ids)
    export = await run_in_threadpool(
        datasets.start_dataset_export, factory, selection, stored.format
    )
    return streamed_export_response(export, events)
