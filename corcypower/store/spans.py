"""Coverage: the spans of time each channel has data for; the holes between them are gaps.

Batches tile time while the daemon samples, so consecutive batches join into one span. A
hole longer than half a batch (the daemon stopped, batches were lost, the wall clock jumped
forward) starts a new span: that hole is a gap, and nothing is ever carried across it. When
the wall clock steps back, the daemon stamps batches 1 ms apart until it catches up; those
overlap the span's end and simply extend it.

A row whose end lies inside an existing span of its channel is already stored. That is how
imports stay idempotent (and never count a time twice) even after retention has deleted the
raw rows, and when two old sources (a MongoDB dump and its sqlite copy) overlap.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from corcypower.store.batches import Batches

MIN_GAP_MS = 50  # wall-clock jitter of batch stamps is a few ms; no real hole is this short


def nearby(conn: sqlite3.Connection, channel_id: int, lo: int, hi: int) -> np.ndarray:
    """Spans of a channel that reach into [lo, hi], as an (n, 2) array sorted by start."""
    found = []
    cur = conn.execute(
        "SELECT start_ms, end_ms FROM span WHERE channel_id = ? AND start_ms <= ? ORDER BY start_ms DESC",
        (channel_id, hi),
    )
    for (
        start,
        end,
    ) in cur:  # spans are disjoint: ends fall with starts, so stop at the first before lo
        if end < lo:
            break
        found.append((start, end))
    cur.close()
    return np.array(found[::-1], dtype=np.int64).reshape(-1, 2)


def covered(spans: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which row ends lie inside one of the spans (start < end <= span end)."""
    if not len(spans):
        return np.zeros(len(ends), dtype=bool)
    j = np.searchsorted(spans[:, 0], ends, side="left") - 1
    inside = j >= 0
    inside[inside] = ends[inside] <= spans[j[inside], 1]
    return inside


def merge(starts: np.ndarray, ends: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
    """Intervals joined where the next starts within `tolerance` of the run so far; (n, 2)."""
    order = np.argsort(starts, kind="stable")
    s, e, tol = starts[order], ends[order], tolerance[order]
    reach = np.maximum.accumulate(e)
    new_run = np.r_[True, s[1:] > reach[:-1] + tol[1:]]
    first = np.flatnonzero(new_run)
    return np.column_stack([s[first], np.maximum.reduceat(e, first)])


def record(conn: sqlite3.Connection, b: Batches) -> np.ndarray:
    """Extend the spans with the batches; returns the mask of batches not already stored."""
    keep = np.ones(len(b), dtype=bool)
    ts, dur, ch = b["ts"], b["duration_ms"], b["channel_id"]
    for channel_id in np.unique(ch).tolist():
        rows = np.flatnonzero(ch == channel_id)
        end = ts[rows]
        start = end - dur[rows]
        slack = int(dur[rows].max())
        old = nearby(conn, channel_id, int(start.min()) - slack, int(end.max()) + slack)
        fresh = ~covered(old, end)
        keep[rows] = fresh
        if not fresh.any():
            continue
        tol = np.maximum(MIN_GAP_MS, dur[rows][fresh] // 2)
        joined = merge(
            np.concatenate([old[:, 0], start[fresh]]),
            np.concatenate([old[:, 1], end[fresh]]),
            np.concatenate([np.full(len(old), MIN_GAP_MS), tol]),
        )
        conn.executemany(
            "DELETE FROM span WHERE channel_id = ? AND start_ms = ?",
            [(channel_id, s) for s in old[:, 0].tolist()],
        )
        conn.executemany(
            "INSERT INTO span (channel_id, start_ms, end_ms) VALUES (?, ?, ?)",
            [(channel_id, s, e) for s, e in joined.tolist()],
        )
    return keep


def trim(conn: sqlite3.Connection, b: Batches) -> Batches:
    """Rows cut to the part of their time that no span covers yet; wholly covered rows unchanged.

    For imports from sources that overlap but do not share row times (the MongoDB version's
    rows 1.5 s apart, its sqlite copy starting part way through): a row reaching into stored
    time keeps only its own uncovered part, so the union of the sources is covered once,
    whichever was imported first. A row whose end is covered but whose start is not keeps
    its head: it ends where the stored span begins. (`record` then skips the covered rows.)
    """
    ts, dur = b["ts"].copy(), b["duration_ms"].copy()
    for channel_id in np.unique(b["channel_id"]).tolist():
        rows = np.flatnonzero(b["channel_id"] == channel_id)
        end, start = ts[rows], ts[rows] - dur[rows]
        old = nearby(conn, channel_id, int(start.min()), int(end.max()))
        if not len(old):
            continue
        end_in, start_in = covered(old, end), covered(old, start + 1)  # start in [from, to)
        tail = ~end_in & start_in  # keeps the part after the span its start lies in
        j = np.searchsorted(old[:, 0], start[tail] + 1, side="left") - 1
        dur[rows[tail]] = end[tail] - old[j, 1]
        head = end_in & ~start_in  # keeps the part before the span its end lies in
        j = np.searchsorted(old[:, 0], end[head], side="left") - 1
        ts[rows[head]] = old[j, 0]
        dur[rows[head]] = old[j, 0] - start[head]
    out = Batches(dict(b.columns))
    out.columns["ts"], out.columns["duration_ms"] = ts, dur
    return out


def truncate(conn: sqlite3.Connection, since_ms: int) -> None:
    """Forget coverage from since_ms on (spans are cut there), before rebuilding it from raw rows."""
    conn.execute("DELETE FROM span WHERE start_ms >= ?", (since_ms,))
    conn.execute("UPDATE span SET end_ms = ? WHERE end_ms > ?", (since_ms, since_ms))
