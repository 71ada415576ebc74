"""Coverage: batches join into spans, holes become gaps, covered rows are recognised."""

from __future__ import annotations

import numpy as np

from corcypower.store import spans
from corcypower.store.batches import Batches
from tests.store.conftest import T0, current_rows, tiled


def record(db, b: Batches) -> np.ndarray:
    with db.atomic() as conn:
        return spans.record(conn, b)


def span_rows(db) -> list[tuple]:
    return [
        tuple(r) for r in db.query("SELECT channel_id, start_ms, end_ms FROM span ORDER BY 1, 2")
    ]


def test_tiling_batches_make_one_span_across_commits(db):
    ends = tiled(T0, 60)
    record(db, current_rows(ends[:50], 1.0))
    record(db, current_rows(ends[50:], 1.0))
    assert span_rows(db) == [(2, T0, T0 + 60_000)]


def test_a_hole_longer_than_half_a_batch_is_a_gap(db):
    ends = np.r_[tiled(T0, 10), tiled(T0 + 10_300, 10)]  # 300 ms lost after 10 s
    record(db, current_rows(ends, 1.0))
    assert span_rows(db) == [(2, T0, T0 + 10_000), (2, T0 + 10_300, T0 + 20_300)]
    gap = db.query("SELECT channel, from_ms, to_ms, seconds FROM gaps")
    assert [tuple(g) for g in gap] == [("main", T0 + 10_000, T0 + 10_300, 0.3)]


def test_jitter_of_a_few_ms_is_not_a_gap(db):
    ends = tiled(T0, 10) + np.tile([0, 3, -2, 1], 5)
    record(db, current_rows(ends, 1.0))
    assert len(span_rows(db)) == 1


def test_stamps_compressed_by_a_clock_step_back_extend_the_span(db):
    # the daemon stamps batches 1 ms apart while the wall clock is behind
    ends = np.r_[tiled(T0, 5), T0 + 5_000 + np.arange(1, 11)]
    keep = record(db, current_rows(ends, 1.0))
    assert keep.all()
    assert span_rows(db) == [(2, T0, T0 + 5_010)]


def test_rows_ending_inside_a_span_are_already_stored(db):
    ends = tiled(T0, 60)
    record(db, current_rows(ends, 1.0))
    again = np.r_[ends[10:20], tiled(T0 + 60_000, 5)]
    keep = record(db, current_rows(again, 1.0))
    assert keep.tolist() == [False] * 10 + [True] * 10
    assert span_rows(db) == [(2, T0, T0 + 65_000)]


def test_filling_a_gap_joins_the_spans(db):
    record(db, current_rows(np.r_[tiled(T0, 10), tiled(T0 + 20_000, 10)], 1.0))
    assert len(span_rows(db)) == 2
    record(db, current_rows(tiled(T0 + 10_000, 10), 1.0))
    assert span_rows(db) == [(2, T0, T0 + 30_000)]


def test_channels_have_their_own_spans(db):
    b = current_rows(tiled(T0, 10), 1.0)
    record(db, b)
    record(db, current_rows(tiled(T0 + 5_000, 10), 1.0, channel_id=1))
    assert span_rows(db) == [(1, T0 + 5_000, T0 + 15_000), (2, T0, T0 + 10_000)]


def test_covered_and_merge_on_arrays():
    s = np.array([[0, 100], [200, 300]])
    assert spans.covered(s, np.array([0, 1, 100, 101, 200, 201, 300, 301])).tolist() == [
        False,
        True,
        True,
        False,
        False,
        True,
        True,
        False,
    ]
    joined = spans.merge(
        np.array([0, 110, 160, 400]), np.array([100, 150, 200, 500]), np.full(4, 10)
    )
    assert joined.tolist() == [[0, 200], [400, 500]]


def test_truncate_keeps_coverage_before_the_cut(db):
    record(db, current_rows(np.r_[tiled(T0, 10), tiled(T0 + 20_000, 10)], 1.0))
    with db.atomic() as conn:
        spans.truncate(conn, T0 + 5_000)
    assert span_rows(db) == [(2, T0, T0 + 5_000)]
