"""Blocks into chunks: cut every batch_seconds, and at every hole in the sampling, never dropped."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from corcypower.batching import LATE_GAP_S, Batcher, Scans, capture_chunks

PERIOD = 250e-6  # between conversions: two channels at 2 kHz


def scans(t0: float, n: int, channels: int = 2) -> Scans:
    t = t0 + np.arange(n) * channels * PERIOD
    return Scans(t, np.full((n, channels), 2048, dtype=np.int64), PERIOD)


def test_chunks_tile_time_while_sampling_runs():
    batcher = Batcher([["v", "i"]], 0.5)
    out = []
    for k in range(12):
        batcher.add(0, scans(1000.0 + k * 255 * 2 * PERIOD, 255))
        out += batcher.cut()
    assert len(out) == 3 and out[0].gap_before and not out[1].gap_before
    for a, b in zip(out, out[1:], strict=False):
        assert b.start == a.end and b.end - b.start == pytest.approx(0.5)
    assert not any(c.late or c.final for c in out)


def test_a_hole_longer_than_a_mains_cycle_closes_the_chunk_where_the_samples_end():
    batcher = Batcher([["v", "i"]], 0.5)
    batcher.add(0, scans(1000.0, 255))  # 127.5 ms
    end = 1000.0 + 255 * 2 * PERIOD
    batcher.add(0, scans(end + LATE_GAP_S * 1.5, 255))  # read 30 ms late
    [closed] = batcher.cut()
    assert closed.final and closed.late and closed.end == pytest.approx(end)
    assert len(closed.samples["v"].t) == 255
    batcher.interrupt(late=False)  # stopping
    [last] = batcher.cut()
    assert last.gap_before and last.final and not last.late


def test_a_short_hole_is_bridged():
    batcher = Batcher([["v", "i"]], 0.5)
    for k in range(4):
        batcher.add(0, scans(1000.0 + k * (0.1275 + 0.005), 255))  # 5 ms pauses
    [chunk] = batcher.cut()
    assert not chunk.final and not chunk.late


def test_nothing_is_dropped_however_short(caplog):
    # three scans between two holes: a chunk of 1.5 ms, kept (analysis gives it its power)
    t = 1000.0 + np.concatenate([np.arange(100), 500 + np.arange(3), 1000 + np.arange(100)]) * 5e-4
    counts = np.full((len(t), 2), 2048, dtype=np.int64)
    with caplog.at_level(logging.WARNING):
        chunks = list(capture_chunks(t, counts, ["v", "i"], PERIOD, 0.5))
    assert [len(c.samples["i"].t) for c in chunks] == [100, 3, 100]
    assert [c.late for c in chunks] == [True, True, False]
    assert not caplog.records


def test_a_billion_second_jump_of_t_is_a_hole_not_data():
    t = np.concatenate([np.arange(2000) * 5e-4, 1e9 + np.arange(2000) * 5e-4])
    counts = np.full((len(t), 1), 512, dtype=np.int64)
    chunks = list(capture_chunks(t, counts, ["i"], 5e-4, 0.5))
    assert sum(c.end - c.start for c in chunks) == pytest.approx(2.0, abs=2e-3)
    assert [c.gap_before for c in chunks] == [True, False, True, False]
    assert chunks[1].late and chunks[1].final
