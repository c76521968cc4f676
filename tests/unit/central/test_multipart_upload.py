"""Streaming a multipart upload to disk: size limit while streaming, generated names, cleanup."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from central.services.errors import InvalidInput, TooLarge
from central.services.uploads import ReceivedUpload, read_limited, receive_multipart_upload

BOUNDARY = "----vru-test-boundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def multipart(*parts: tuple[str, str | None, bytes]) -> bytes:
    """A multipart body from ``(field name, file name or None, content)`` parts."""
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            body += b"Content-Type: application/octet-stream\r\n"
        body += b"\r\n" + content + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def receive(
    body: bytes,
    directory: Path,
    *,
    limit: int = 1 << 20,
    chunk: int = 4096,
    content_type: str = CONTENT_TYPE,
) -> ReceivedUpload:
    return asyncio.run(
        receive_multipart_upload(
            chunks(body, chunk),
            content_type,
            file_field="file",
            directory=directory,
            max_file_bytes=limit,
        )
    )


@pytest.mark.parametrize("chunk", [1, 7, 65536])
def test_the_file_lands_whole_under_a_generated_name(tmp_path: Path, chunk: int) -> None:
    content = os.urandom(20_000) + b"\r\n--" + os.urandom(100)
    body = multipart(("projectId", None, b"p-1"), ("file", "../../etc/clip.mp4", content))
    upload = receive(body, tmp_path, chunk=chunk)
    assert upload.path.read_bytes() == content
    assert upload.size_bytes == len(content)
    assert upload.fields == {"projectId": "p-1"}
    assert upload.filename == "../../etc/clip.mp4"
    assert upload.path.parent == tmp_path
    assert "clip" not in upload.path.name and "etc" not in upload.path.name
    assert list(tmp_path.iterdir()) == [upload.path]


def test_a_file_of_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    upload = receive(multipart(("file", "a.mp4", b"x" * 1000)), tmp_path, limit=1000)
    assert upload.size_bytes == 1000


def test_a_file_over_the_limit_stops_the_upload_and_leaves_nothing(tmp_path: Path) -> None:
    consumed = 0
    body = multipart(("file", "a.mp4", b"x" * 100_000))

    async def counting() -> AsyncIterator[bytes]:
        nonlocal consumed
        async for piece in chunks(body, 1000):
            consumed += len(piece)
            yield piece

    with pytest.raises(TooLarge):
        asyncio.run(
            receive_multipart_upload(
                counting(),
                CONTENT_TYPE,
                file_field="file",
                directory=tmp_path,
                max_file_bytes=10_000,
            )
        )
    assert consumed < 20_000, "the limit must stop reading, not wait for the whole body"
    assert list(tmp_path.iterdir()) == []


def test_a_body_cut_short_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    body = multipart(("file", "a.mp4", b"x" * 5000))
    with pytest.raises(InvalidInput, match="cut short"):
        receive(body[:3000], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_client_that_goes_away_leaves_nothing(tmp_path: Path) -> None:
    class Gone(Exception):
        pass

    async def disconnecting() -> AsyncIterator[bytes]:
        yield multipart(("file", "a.mp4", b"x" * 5000))[:2000]
        raise Gone

    with pytest.raises(Gone):
        asyncio.run(
            receive_multipart_upload(
                disconnecting(),
                CONTENT_TYPE,
                file_field="file",
                directory=tmp_path,
                max_file_bytes=1 << 20,
            )
        )
    assert list(tmp_path.iterdir()) == []


def test_a_form_without_the_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="file is required"):
        receive(multipart(("projectId", None, b"p-1")), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_two_files_in_one_upload_are_refused(tmp_path: Path) -> None:
    body = multipart(("file", "a.mp4", b"a"), ("file", "b.mp4", b"b"))
    with pytest.raises(InvalidInput, match="one file"):
        receive(body, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "multipart/form-data", f"multipart/mixed; boundary={BOUNDARY}", ""],
)
def test_a_body_that_is_not_multipart_form_data_is_refused(
    tmp_path: Path, content_type: str
) -> None:
    with pytest.raises(InvalidInput, match="multipart/form-data"):
        receive(multipart(("file", "a.mp4", b"a")), tmp_path, content_type=content_type)
    assert list(tmp_path.iterdir()) == []


def test_garbage_instead_of_multipart_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        receive(b"this is not multipart at all\r\n" * 10, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_oversized_text_field_is_refused(tmp_path: Path) -> None:
    body = multipart(("projectId", None, b"p" * 100_000), ("file", "a.mp4", b"a"))
    with pytest.raises(InvalidInput) as caught:
        receive(body, tmp_path)
    assert "too long" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_read_limited_reads_up_to_the_limit_and_stops_past_it() -> None:
    assert asyncio.run(read_limited(chunks(b"x" * 1000, 7), 1000)) == b"x" * 1000
    consumed = 0

    async def counting() -> AsyncIterator[bytes]:
        nonlocal consumed
        async for piece in chunks(b"x" * 100_000, 1000):
            consumed += len(piece)
            yield piece

    with pytest.raises(TooLarge):
        asyncio.run(read_limited(counting(), 5000))
    assert consumed <= 6000


def test_part_files_left_by_a_crash_are_removed_by_the_next_upload(tmp_path: Path) -> None:
    stale = tmp_path / ".upload-crashed.part"
    live = tmp_path / ".upload-live.part"
    for part in (stale, live):
        part.write_bytes(b"half a video")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    upload = receive(multipart(("file", "a.mp4", b"a")), tmp_path)
    assert sorted(tmp_path.iterdir()) == sorted([live, upload.path])
