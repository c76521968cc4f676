"""Dataset exports answered as JSON: the request is kept, and a signed link downloads its zip.

A client that sends ``Accept: application/json`` to ``POST /api/datasets/export`` gets a
description (id, format, counts) and a download URL instead of the zip itself, so a browser can
hand the URL to a plain link or ``window.location``, which send no bearer token. The selection
is written to ``<data dir>/exports/<id>.json`` (every server process sharing the data directory
can serve it, and a restart does not lose it); the URL is signed like a stream link
(:mod:`central.services.stream_links`) and expires with it. Requests older than that are removed
when a new one is saved.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from central.db.types import new_id
from central.services import stream_links
from central.services.annotation_io import StreamedExport
from central.services.errors import NotFound

__all__ = [
    "SavedExport",
    "StoredExportRequest",
    "load_request",
    "offer_download",
    "save_request",
    "verify_link",
]

logger = logging.getLogger(__name__)

_DIRECTORY = "exports"


@dataclass(frozen=True, slots=True)
class StoredExportRequest:
    format: str
    project_id: str | None
    video_ids: list[str] | None


@dataclass(frozen=True, slots=True)
class SavedExport:
    id: str
    link: stream_links.StreamLink


def _subject(export_id: str) -> str:
    # Not a video id (those are UUIDs), so a stream link's signature never opens an export.
    return f"dataset-export:{export_id}"


def _path(data_dir: Path, export_id: str) -> Path:
    return data_dir / _DIRECTORY / f"{export_id}.json"


def _remove_expired(directory: Path) -> None:
    oldest = time.time() - stream_links.LINK_TTL_S
    for path in directory.glob("*.json"):
        try:
            if path.stat().st_mtime < oldest:
                path.unlink()
        except FileNotFoundError:  # another process removed it first
            continue


def save_request(data_dir: Path, request: StoredExportRequest) -> SavedExport:
    """Keep ``request`` (already checked) and sign a link to its download."""
    directory = data_dir / _DIRECTORY
    directory.mkdir(parents=True, exist_ok=True)
    _remove_expired(directory)
    export_id = new_id()
    body = {
        "format": request.format,
        "projectId": request.project_id,
        "videoIds": request.video_ids,
    }
    _path(data_dir, export_id).write_bytes(orjson.dumps(body))
    logger.info("Saved dataset export request %s (%s)", export_id, request.format)
    return SavedExport(export_id, stream_links.make_link(data_dir, _subject(export_id)))


def offer_download(
    data_dir: Path, request: StoredExportRequest, export: StreamedExport
) -> dict[str, Any]:
    """Save ``request`` (checked by starting ``export``, which is not streamed) and describe it:
    the fields of :class:`~central.schemas.datasets.DatasetExportResponse`."""
    saved = save_request(data_dir, request)
    summary = export.header_summary()
    link = saved.link
    return {
        "id": saved.id,
        "format": request.format,
        "video_count": summary["videos"],
        "annotation_count": summary["storedAnnotations"],
        "download_url": f"/api/datasets/export/{saved.id}/download"
        f"?expires={link.expires}&signature={link.signature}",
        "expires_at": datetime.fromtimestamp(link.expires, UTC),
    }


def verify_link(data_dir: Path, export_id: str, expires: int, signature: str) -> bool:
    return stream_links.verify_link(data_dir, _subject(export_id), expires, signature)


def load_request(data_dir: Path, export_id: str) -> StoredExportRequest:
    """:raises NotFound: for an id never saved here, or removed after it expired."""
    if not export_id.replace("-", "").isalnum():
        raise NotFound("dataset export", export_id)
    try:
        body = orjson.loads(_path(data_dir, export_id).read_bytes())
    except FileNotFoundError as exc:
        raise NotFound("dataset export", export_id) from exc
    return StoredExportRequest(body["format"], body["projectId"], body["videoIds"])
