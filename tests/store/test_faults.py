"""Faults: a full disk during commits, a reader holding a long query; nothing lost or corrupted."""

from __future__ import annotations

import contextlib
import subprocess

import pytest

from corcypower.clock import FakeClock
from corcypower.settings import from_dict
from corcypower.store.database import Database
from corcypower.store.rebuild import rebuild
from corcypower.store.writer import Writer, register_channels
from tests.store.conftest import CONFIG, T0
from tests.store.test_writer import stats


def fill(writer: Writer, start_k: int, count: int, power: float = 800.0) -> int:
    for k in range(start_k, start_k + count):
        writer.add(T0 + 500 * (k + 1), 500, stats(power))
    return start_k + count


def check_consistent(db: Database, batches: int) -> None:
    """Every row there once, rollups equal to a rebuild from them, integrity ok."""
    assert db.query("PRAGMA integrity_check")[0][0] == "ok"
    assert db.query("SELECT count(*) FROM batch WHERE channel_id = 2")[0][0] == batches
    energy = db.query("SELECT sum(import_wh) FROM rollup_1d WHERE channel_id = 2")[0][0]
    assert energy == pytest.approx(800 * batches * 0.5 / 3600)
    minutes = [
        tuple(r)
        for r in db.query("SELECT ts, n, duration_ms FROM rollup_1m ORDER BY ts, channel_id")
    ]
    db.conn.execute("BEGIN")  # rebuild only to compare: rolled back
    rebuild(db.conn)
    rebuilt = [
        tuple(r)
        for r in db.query("SELECT ts, n, duration_ms FROM rollup_1m ORDER BY ts, channel_id")
    ]
    db.conn.execute("ROLLBACK")
    assert minutes == rebuilt


def test_sqlite_full_keeps_the_batches_in_memory_until_there_is_room(db):
    """SQLITE_FULL provoked with max_page_count: commits fail, nothing is lost or corrupted."""
    writer = Writer(db, {"mains_v": 1, "main": 2}, 60.0, FakeClock())
    k = fill(writer, 0, 240)
    assert writer.flush()
    pages = db.query("PRAGMA page_count")[0][0]
    db.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the disk is nearly full
    failed = 0
    for _ in range(5):  # five commit intervals with no room
        k = fill(writer, k, 2400)
        failed += not writer.flush()
    assert failed == 5 and writer.failures == 5
    assert "full" in writer.last_error and len(writer.pending) == 2 * 2400 * 5
    assert not db.conn.in_transaction
    assert db.query("SELECT count(*) FROM batch WHERE channel_id = 2")[0][0] == 240
    db.conn.execute("PRAGMA max_page_count = 1073741823")  # room again
    k = fill(writer, k, 10)
    assert writer.flush() and not writer.pending
    check_consistent(db, k)


@contextlib.contextmanager
def small_filesystem(where, size: str):
    """A real tmpfs of `size` mounted at `where` (needs root; skipped otherwise)."""
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a small tmpfs here ({done.stderr.strip()}); the max_page_count test covers SQLITE_FULL"
        )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_real_full_filesystem_during_commits(tmp_path):
    with small_filesystem(tmp_path / "sd", "600k") as sd:
        db = Database(sd / "power.db")
        ids = register_channels(db, from_dict(CONFIG).channels, "mcp3208", T0)
        writer = Writer(db, ids, 60.0, FakeClock())
        k, failed = 0, 0
        while failed == 0 and k < 200_000:  # until the disk is full
            k = fill(writer, k, 1200)
            failed = not writer.flush()
        assert failed and ("full" in writer.last_error or "disk" in writer.last_error)
        k = fill(writer, k, 1200)
        assert not writer.flush()  # still full: kept
        subprocess.run(["mount", "-o", "remount,size=64m", str(sd)], check=True)  # room again
        assert writer.flush() and not writer.pending
        check_consistent(db, k)
        db.close()
        with Database(sd / "power.db", read_only=True) as reader:
            assert reader.query("SELECT count(*) FROM batch WHERE channel_id = 2")[0][0] == k


def test_a_long_reader_does_not_make_the_writer_lose_data(db):
    writer = Writer(db, {"mains_v": 1, "main": 2}, 60.0, FakeClock())
    k = fill(writer, 0, 2000)
    assert writer.flush()
    reader = Database(db.path, read_only=True)
    cursor = reader.conn.execute("SELECT * FROM batch ORDER BY ts")
    cursor.fetchone()  # a long query in progress: its snapshot pins the WAL
    for _ in range(30):  # far more than the WAL's auto-checkpoint size
        k = fill(writer, k, 2000)
        assert writer.flush()
    assert writer.failures == 0
    assert len(cursor.fetchall()) == 2 * 2000 - 1  # the reader's own consistent snapshot
    reader.close()
    assert db.query("PRAGMA wal_checkpoint(TRUNCATE)")[0][0] == 0  # not busy any more
    check_consistent(db, k)
