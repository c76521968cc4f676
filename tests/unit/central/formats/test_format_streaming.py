"""The streaming zip writer makes archives that zipfile and unzip read back exactly."""

from __future__ import annotations

import io
import shutil
import stat
import subprocess
import zipfile

import pytest

from central.formats.streaming import rechunk, stream_zip


def _archive(entries, **kwargs) -> bytes:
    return b"".join(stream_zip(entries, **kwargs))


def test_entries_come_back_byte_for_byte():
    entries = [
        ("data.yaml", b"names:\n  0: pedestrian\n"),
        ("images/", b""),
        ("labels/frame_000000.txt", b""),
        ("labels/frame_000001.txt", b"0 0.5 0.5 0.1 0.1\n" * 1000),
        ("Annotations/fr\u00e4me.xml", "<annotation>\u00e9</annotation>".encode()),
    ]

    with zipfile.ZipFile(io.BytesIO(_archive(entries))) as archive:
        assert archive.testzip() is None
        assert [(i.filename, archive.read(i)) for i in archive.infolist()] == entries
        directory, empty = archive.getinfo("images/"), archive.getinfo("labels/frame_000000.txt")
        assert directory.is_dir() and stat.S_ISDIR(directory.external_attr >> 16)
        assert stat.S_ISREG(empty.external_attr >> 16)
        big = archive.getinfo("labels/frame_000001.txt")
        assert big.compress_type == zipfile.ZIP_DEFLATED and big.compress_size < big.file_size


def test_more_than_65535_entries_get_zip64_end_records():
    entries = [(f"labels/{index:06d}.txt", b"") for index in range(70_000)]

    with zipfile.ZipFile(io.BytesIO(_archive(entries))) as archive:
        names = archive.namelist()
    assert len(names) == 70_000 and names[-1] == "labels/069999.txt"


@pytest.mark.skipif(shutil.which("unzip") is None, reason="no unzip on this machine")
def test_unzip_accepts_the_archive(tmp_path):
    path = tmp_path / "labels.zip"
    path.write_bytes(_archive([("a/b.txt", b"hello\n" * 50), ("a/", b""), ("c.txt", b"")]))

    checked = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No errors detected" in checked.stdout


def test_chunks_have_about_the_asked_size():
    entries = [(f"{index}.txt", bytes(range(256)) * 40) for index in range(200)]

    chunks = list(stream_zip(entries, compresslevel=0, size=64 * 1024))

    assert len(chunks) > 5
    assert all(len(chunk) >= 64 * 1024 for chunk in chunks[:-1])
    assert list(rechunk([b"ab", b"cd", b"e"], size=4)) == [b"abcd", b"e"]
