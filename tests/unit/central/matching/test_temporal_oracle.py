"""The vectorised temporal matcher against a literal transcription of the DESIGN.md rule.

The oracle walks signals one by one in (time, record id) order and scans every event, exactly as
the rule is worded; random sessions with heavily overlapping windows exercise the contended path.
"""

from __future__ import annotations

import numpy as np
import pytest

from central.matching import GroundTruth, MatchConfig, Signals, match


def _oracle(events: list[tuple[str, float, float]], signals: list[tuple[int, float]], tol: float):
    """events: (detection_id, onset, offset); signals: (record_id, t). Returns verdict per record
    id ('TP'/'repeat'/'FP', detection id or None) and the set of unmatched detection ids."""
    ordered_events = sorted(events, key=lambda e: (e[1], e[0]))
    matched: set[str] = set()
    verdicts = {}
    for rid, t in sorted(signals, key=lambda s: (s[1], s[0])):
        holding = [e for e in ordered_events if e[1] - tol <= t <= e[2] + tol]
        free = [e for e in holding if e[0] not in matched]
        if free:
            matched.add(free[0][0])
            verdicts[rid] = ("TP", free[0][0])
        elif holding:
            verdicts[rid] = ("repeat", holding[0][0])
        else:
            verdicts[rid] = ("FP", None)
    return verdicts, {e[0] for e in events} - matched


def _session(rng: np.random.Generator, n_events: int, n_signals: int, span: float):
    rows, events = [], []
    ann = 1
    for e in range(n_events):
        onset = float(rng.integers(0, span))
        length = float(rng.choice([0, 10, 50, 400, 2000]))
        det = f"track-{e:03d}"
        events.append((det, onset, onset + length))
        for k, t in enumerate((onset, onset + length)):
            rows.append(
                {
                    "annotation_id": ann,
                    "detection_id": det,
                    "frame": int(t) + k,
                    "t_ms": t,
                    "vru_type": "pedestrian",
                    "bbox": [0, 0, 1, 1],
                }
            )
            ann += 1
    # Integer times make exact window edges and equal times frequent.
    times = rng.integers(-200, span + 2200, n_signals).astype(float)
    signals = [(int(r), float(t)) for r, t in zip(rng.permutation(n_signals) * 3 + 1, times)]
    return rows, events, signals


@pytest.mark.parametrize("seed", range(40))
def test_matches_literal_rule_on_random_overlapping_sessions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    tol = float(rng.choice([0, 25, 100]))
    rows, events, signals = _session(rng, int(rng.integers(1, 40)), int(rng.integers(0, 120)), 3000)
    gt = GroundTruth.from_dicts(rows)
    result = match(
        gt,
        Signals.from_dicts([{"record_id": r, "t_video_ms": t} for r, t in signals]),
        MatchConfig(tolerance_ms=tol),
    )
    expected, missed = _oracle(events, signals, tol)
    first_annotation = {r["detection_id"]: r["annotation_id"] for r in reversed(rows)}
    got = {
        row["record_id"]: (row["match_type"], row["annotation_id"])
        for row in result.comparisons.to_rows()
    }
    assert got == {
        rid: (kind, first_annotation[det] if det else None) for rid, (kind, det) in expected.items()
    }
    assert set(result.misses.detection_id.tolist()) == missed
    assert result.results.false_negatives == len(missed)
