"""Session-vs-session comparison: flips, McNemar's exact test, TTFD difference and verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest

from central.matching.regression import Regression, RegressionVerdict, compare_tracks


def _compare(found_a: list[bool], found_b: list[bool], shift_ms: float = 0.0) -> Regression:
    ids = np.asarray([f"t{i}" for i in range(len(found_a))], dtype=object)
    a = np.asarray(found_a)
    b = np.asarray(found_b)
    ttfd_a = np.where(a, 100.0 + np.arange(a.size), np.nan)
    ttfd_b = np.where(b, 100.0 + np.arange(b.size) + shift_ms, np.nan)
    return compare_tracks(ids, a, b, ttfd_a, ttfd_b)


def test_mcnemar_exact_p_is_the_two_sided_binomial_of_the_flips() -> None:
    # 10 tracks lost by B, 1 gained: p = 2 * (C(11,0) + C(11,1)) / 2**11.
    outcome = _compare([True] * 10 + [False] + [True] * 5, [False] * 10 + [True] + [True] * 5)
    assert outcome.mcnemar_p == pytest.approx(2 * (1 + 11) / 2**11)
    assert outcome.found_in_a_missed_in_b == [f"t{i}" for i in range(10)]
    assert outcome.missed_in_a_found_in_b == ["t10"]
    assert outcome.verdict is RegressionVerdict.REGRESSED


def test_more_tracks_found_significantly_is_an_improvement() -> None:
    outcome = _compare([False] * 8 + [True] * 4, [True] * 12)
    assert outcome.mcnemar_p == pytest.approx(2 / 2**8)
    assert outcome.verdict is RegressionVerdict.IMPROVED


def test_a_few_flips_either_way_are_no_significant_change() -> None:
    outcome = _compare([True, True, False, True], [False, True, True, True])
    assert outcome.mcnemar_p == pytest.approx(1.0)
    assert outcome.latency_difference_ms == 0.0
    assert outcome.verdict is RegressionVerdict.NO_SIGNIFICANT_CHANGE


def test_a_slower_build_regresses_with_a_reproducible_interval() -> None:
    outcome = _compare([True] * 20, [True] * 20, shift_ms=35.0)
    assert outcome.mcnemar_p is None, "no flip, nothing to test"
    assert outcome.latency_difference_ms == pytest.approx(35.0)
    low, high = outcome.latency_interval_ms or (math.nan, math.nan)
    assert low == pytest.approx(35.0) and high == pytest.approx(35.0)
    assert outcome.verdict is RegressionVerdict.REGRESSED
    assert _compare([True] * 20, [True] * 20, shift_ms=35.0) == outcome


def test_a_noisy_latency_difference_has_an_interval_around_its_mean() -> None:
    rng = np.random.default_rng(0)
    ids = np.asarray([f"t{i}" for i in range(200)], dtype=object)
    found = np.ones(200, dtype=np.bool_)
    a = rng.normal(100, 20, 200)
    b = a + rng.normal(0, 20, 200)
    outcome = compare_tracks(ids, found, found, a, b)
    low, high = outcome.latency_interval_ms or (math.nan, math.nan)
    assert low < outcome.latency_difference_ms < high
    assert high - low == pytest.approx(2 * 1.96 * 20 / math.sqrt(200), rel=0.25)
