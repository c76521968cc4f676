"""Signed stream links: valid for their video until they expire, under a key kept on disk."""

from __future__ import annotations

import stat
from pathlib import Path

from central.services.stream_links import KEY_FILENAME, LINK_TTL_S, make_link, verify_link

NOW = 1_800_000_000.0


def test_a_link_is_valid_for_its_video_until_it_expires(tmp_path: Path) -> None:
    link = make_link(tmp_path, "video-1", now=NOW)
    assert link.expires == NOW + LINK_TTL_S
    assert verify_link(tmp_path, "video-1", link.expires, link.signature, now=NOW)
    assert verify_link(tmp_path, "video-1", link.expires, link.signature, now=link.expires)
    assert not verify_link(tmp_path, "video-1", link.expires, link.signature, now=link.expires + 1)


def test_a_link_is_refused_for_another_video_or_when_tampered_with(tmp_path: Path) -> None:
    link = make_link(tmp_path, "video-1", now=NOW)
    assert not verify_link(tmp_path, "video-2", link.expires, link.signature, now=NOW)
    assert not verify_link(tmp_path, "video-1", link.expires + 3600, link.signature, now=NOW)
    flipped = ("0" if link.signature[0] != "0" else "1") + link.signature[1:]
    assert not verify_link(tmp_path, "video-1", link.expires, flipped, now=NOW)
    assert not verify_link(tmp_path, "video-1", link.expires, "", now=NOW)


def test_the_key_is_private_kept_and_shared_by_every_process_on_the_data_dir(
    tmp_path: Path,
) -> None:
    link = make_link(tmp_path, "video-1", now=NOW)
    key = tmp_path / KEY_FILENAME
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # A restarted server (same data directory) still accepts the link...
    assert verify_link(tmp_path, "video-1", link.expires, link.signature, now=NOW)
    # ...but a server with another data directory, hence another key, does not.
    assert not verify_link(tmp_path / "other", "video-1", link.expires, link.signature, now=NOW)
