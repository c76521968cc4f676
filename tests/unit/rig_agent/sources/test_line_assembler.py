"""Splitting a byte stream into lines, each stamped when its first byte arrived."""

from __future__ import annotations

from rig_agent.sources._lines import LineAssembler


def test_line_split_over_chunks_keeps_the_stamp_of_its_first_byte() -> None:
    lines: LineAssembler[int] = LineAssembler()
    assert lines.feed(b'{"fra', 100) == []
    assert lines.pending
    assert lines.feed(b'me": 1}', 200) == []
    assert lines.feed(b"\n", 300) == [(b'{"frame": 1}', 100)]
    assert not lines.pending


def test_several_lines_in_one_chunk_and_the_next_one_starting_there() -> None:
    lines: LineAssembler[int] = LineAssembler()
    assert lines.feed(b"a\r\nb\nc", 10) == [(b"a", 10), (b"b", 10)]
    assert lines.feed(b"d\n", 20) == [(b"cd", 10)]


def test_a_line_starting_right_after_a_newline_gets_the_next_chunk_stamp() -> None:
    lines: LineAssembler[int] = LineAssembler()
    assert lines.feed(b"a\n", 10) == [(b"a", 10)]
    assert lines.feed(b"b\n", 20) == [(b"b", 20)]


def test_blank_lines_carry_nothing_and_are_skipped() -> None:
    lines: LineAssembler[int] = LineAssembler()
    assert lines.feed(b"\n\r\n  \nx\n", 1) == [(b"x", 1)]


def test_flush_delivers_a_last_line_without_newline() -> None:
    lines: LineAssembler[int] = LineAssembler()
    lines.feed(b"tail", 5)
    assert lines.flush() == [(b"tail", 5)]
    assert lines.flush() == []


def test_overlong_line_is_delivered_in_pieces_not_buffered_forever() -> None:
    lines: LineAssembler[int] = LineAssembler(max_line_bytes=4)
    assert lines.feed(b"abcdefghij", 1) == [(b"abcd", 1), (b"efgh", 1)]
    assert lines.feed(b"\n", 2) == [(b"ij", 1)]
