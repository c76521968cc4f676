"""A small REST client for the demo, on the standard library only.

The demo must run on a machine with nothing but the package installed, and HTTP client libraries
are test extras here; the calls are few, so ``urllib`` in a worker thread is plenty.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

__all__ = ["DemoApi", "DemoApiError"]

_TIMEOUT_S = 30.0


class DemoApiError(RuntimeError):
    """The API answered with an error status; the message carries the method, path and detail."""


class DemoApi:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def _call(
        self, method: str, path: str, body: bytes | None, content_type: str | None
    ) -> tuple[int, Any]:
        headers = dict(self._headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(
            self.base_url + path, data=body, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            try:
                detail: Any = json.loads(text).get("detail", text)
            except (ValueError, AttributeError):
                detail = text
            return exc.code, {"detail": detail}

    async def _request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str | None = None,
        *,
        check: bool = True,
    ) -> tuple[int, Any]:
        status, data = await asyncio.to_thread(self._call, method, path, body, content_type)
        if check and status >= 400:
            raise DemoApiError(f"{method} {path}: {status} {data.get('detail')}")
        return status, data

    async def get(self, path: str) -> Any:
        return (await self._request("GET", path))[1]

    async def get_maybe(self, path: str) -> tuple[int, Any]:
        """GET without raising on an error status."""
        return await self._request("GET", path, check=False)

    async def post(self, path: str, payload: Any) -> Any:
        body = json.dumps(payload).encode()
        return (await self._request("POST", path, body, "application/json"))[1]

    async def upload(self, path: str, file: Path, content_type: str | None = None) -> Any:
        """POST one file as multipart/form-data field ``file``."""
        boundary = uuid.uuid4().hex
        kind = content_type or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{file.name}"\r\nContent-Type: {kind}\r\n\r\n'
        ).encode()
        body = head + file.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        return (
            await self._request("POST", path, body, f"multipart/form-data; boundary={boundary}")
        )[1]
