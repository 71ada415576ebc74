"""Rollups and spans recomputed from the raw rows (corcypower/store/rebuild.py)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from corcypower.store.rebuild import rebuild
from corcypower.store.retention import Retention
from corcypower.store.writer import write_rows
from tests.store.conftest import T0, current_rows, tiled
from tests.store.test_writer import energy_wh


def test_rebuild_reproduces_the_incremental_rollups(db):
    rng = np.random.default_rng(5)
    ends = np.r_[tiled(T0 + 77, 4000), tiled(T0 + 5_000_000, 2000)]
    b = current_rows(ends, rng.uniform(-2000, 3000, len(ends)))
    for part in np.array_split(np.arange(len(ends)), 13):
        with db.atomic() as conn:
            write_rows(conn, b.take(part), int(ends.max()), Retention())
    before = {t: db.query(f"SELECT * FROM rollup_{t} ORDER BY ts") for t in ("10s", "1m", "1h")}
    spans_before = db.query("SELECT * FROM span")
    with db.atomic() as conn:
        assert rebuild(conn) == len(ends)
    for t, rows in before.items():
        after = db.query(f"SELECT * FROM rollup_{t} ORDER BY ts")
        assert len(after) == len(rows)
        for x, y in zip(rows, after, strict=True):
            assert tuple(x)[:4] == tuple(y)[:4]
            assert tuple(x)[4:11] == pytest.approx(tuple(y)[4:11], rel=1e-9)
    assert [tuple(r) for r in db.query("SELECT * FROM span")] == [tuple(r) for r in spans_before]


def test_rebuild_keeps_buckets_whose_raw_rows_are_gone(db):
    ends = tiled(T0, 7200)
    with db.atomic() as conn:
        write_rows(conn, current_rows(ends, 500.0), int(ends.max()), Retention())
        conn.execute("DELETE FROM batch WHERE ts <= ?", (T0 + 1_800_250,))  # retention, mid-minute
        rebuild(conn)
        assert energy_wh(conn)[0] == pytest.approx(1000.0)  # the day keeps the deleted half hour
    assert db.query("SELECT count(*) FROM span")[0][0] == 1


def test_the_database_module_does_not_import_the_writer():
    """No import circle: migrations rebuild through rebuild.py, which needs no Database."""
    code = "import sys, corcypower.store.database; print('corcypower.store.writer' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
