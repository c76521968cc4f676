"""Frame/time placement and box rules of a ground-truth annotation against its video."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central.formats.rules import Placement, VideoGeometry, check_box, place_in_video

VIDEO = VideoGeometry(fps=25.0, frame_count=100, width=640, height=480)
UNPROBED = VideoGeometry(fps=None, frame_count=None, width=None, height=None)


def fields(problems: list) -> list[tuple]:
    return [where for where, _ in problems]


def test_frame_alone_gets_its_timestamp() -> None:
    assert place_in_video(50, None, VIDEO) == (Placement(50, 2.0), [])


def test_timestamp_alone_gets_the_nearest_frame() -> None:
    assert place_in_video(None, 2.0, VIDEO) == (Placement(50, 2.0), [])
    at_30_fps = VideoGeometry(30.0, 100, None, None)
    assert place_in_video(None, 0.033, at_30_fps)[0] == Placement(1, 0.033)


def test_both_given_and_consistent_keeps_both() -> None:
    assert place_in_video(3, 0.12, VIDEO) == (Placement(3, 0.12), [])
    # A timestamp rounded to the millisecond still agrees with its frame.
    assert place_in_video(1, 0.033, VideoGeometry(30.0, 100, None, None))[1] == []


def test_both_given_but_inconsistent_is_refused_on_timestamp() -> None:
    placement, problems = place_in_video(3, 1.0, VIDEO)
    assert placement is None
    assert fields(problems) == [("timestamp",)]
    assert "frame 25" in problems[0][1]


def test_neither_given_is_refused() -> None:
    assert fields(place_in_video(None, None, VIDEO)[1]) == [("frameNumber",)]


@pytest.mark.parametrize(
    ("frame", "timestamp", "field"),
    [(-1, None, "frameNumber"), (None, -0.5, "timestamp"), (None, math.nan, "timestamp")],
)
def test_negative_or_nan_positions_are_refused(
    frame: int | None, timestamp: float | None, field: str
) -> None:
    assert fields(place_in_video(frame, timestamp, VIDEO)[1]) == [(field,)]


def test_frame_past_the_end_is_refused() -> None:
    assert place_in_video(99, None, VIDEO)[1] == []
    assert fields(place_in_video(100, None, VIDEO)[1]) == [("frameNumber",)]
    # Derived from a timestamp, the problem is the timestamp's.
    assert fields(place_in_video(None, 4.0, VIDEO)[1]) == [("timestamp",)]


def test_without_fps_one_of_them_cannot_be_derived() -> None:
    assert fields(place_in_video(5, None, UNPROBED)[1]) == [("timestamp",)]
    assert fields(place_in_video(None, 1.0, UNPROBED)[1]) == [("frameNumber",)]
    assert place_in_video(5, 1.0, UNPROBED) == (Placement(5, 1.0), [])


@given(
    st.integers(min_value=0, max_value=99_999),
    st.sampled_from([23.976, 25.0, 29.97, 30.0, 59.94, 60.0]),
)
def test_a_frames_own_time_always_maps_back_to_it(frame: int, fps: float) -> None:
    video = VideoGeometry(fps, 100_000, None, None)
    placement, problems = place_in_video(frame, None, video)
    assert problems == []
    back = place_in_video(None, placement.timestamp, video)[0]
    assert back == Placement(frame, placement.timestamp)
    assert place_in_video(frame, round(placement.timestamp, 3), video)[1] == []


def test_box_inside_the_frame_is_fine_up_to_the_edge() -> None:
    assert check_box(0, 0, 640, 480, VIDEO) == []
    assert check_box(600.5, 400.25, 39.5, 79.75, VIDEO) == []


def test_box_past_the_frame_is_refused() -> None:
    assert fields(check_box(600, 0, 41, 10, VIDEO)) == [("boundingBox", "width")]
    assert fields(check_box(0, 470, 10, 11, VIDEO)) == [("boundingBox", "height")]


def test_box_of_an_unsized_video_is_only_checked_for_sign() -> None:
    assert check_box(5000, 5000, 10, 10, UNPROBED) == []


def test_negative_or_empty_boxes_are_refused_field_by_field() -> None:
    assert fields(check_box(-1, -2, 0, -3, VIDEO)) == [
        ("boundingBox", "x"),
        ("boundingBox", "y"),
        ("boundingBox", "width"),
        ("boundingBox", "height"),
    ]


def test_non_finite_box_values_are_refused() -> None:
    problems = check_box(math.inf, 0, math.nan, 1, VIDEO)
    assert fields(problems) == [("boundingBox", "x"), ("boundingBox", "width")]
