"""Rollups and spans recomputed from the raw rows: after a repair, a migration, or by hand.

The write path adds to rollups batch by batch; `rebuild` recomputes them from what the raw
table holds, so a damaged rollup (or a new level) is made right again. It runs inside the
caller's transaction, and needs neither the writer nor the database object: the migrations
call it too.
"""

from __future__ import annotations

import sqlite3

from corcypower.store import rollups, spans
from corcypower.store.batches import COLUMNS, Batches


def rebuild(
    conn: sqlite3.Connection,
    chunk_ms: int = 6 * 3_600_000,
    levels: tuple[rollups.Level, ...] = rollups.LEVELS,
) -> int:
    """Recompute spans and rollups from the raw rows, where raw rows still exist; rows read.

    Buckets that begin before the oldest raw row keep their stored values: their raw rows
    are gone, so they cannot be rebuilt. Runs inside the caller's transaction.
    """
    first = conn.execute("SELECT min(ts) FROM batch").fetchone()[0]
    if first is None:
        return 0
    start = conn.execute(
        "SELECT min(ts - duration_ms) FROM batch WHERE ts < ?", (first + 10_000,)
    ).fetchone()[0]
    since = {}
    for level in levels:
        # the bucket holding the first raw row keeps its stored value if data older than that
        # row was stored in it (its raw rows are gone); otherwise it is rebuilt too
        partial = start // level.width_ms * level.width_ms
        older = conn.execute(
            "SELECT 1 FROM span WHERE start_ms < ? AND end_ms > ? LIMIT 1", (start, partial)
        ).fetchone()
        since[level.table] = partial + level.width_ms if older else partial
        conn.execute(f"DELETE FROM {level.table} WHERE ts >= ?", (since[level.table],))
    spans.truncate(conn, start)
    last = conn.execute("SELECT max(ts) FROM batch").fetchone()[0]
    done = 0
    for lo in range(first, last + 1, chunk_ms):
        cur = conn.execute(
            f"SELECT {', '.join(COLUMNS)} FROM batch WHERE ts >= ? AND ts < ? ORDER BY ts",
            (lo, lo + chunk_ms),
        )
        b = Batches.from_rows(cur.fetchall())
        spans.record(conn, b)
        rollups.add_all(conn, b, since, levels)
        done += len(b)
    return done
