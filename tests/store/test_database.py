"""The sqlite file: WAL, numbered migrations, upgrading a version-1 file, read-only readers."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from corcypower.errors import StoreError
from corcypower.store import database
from corcypower.store.database import Database, migrations, schema_version
from corcypower.store.retention import Retention
from corcypower.store.writer import write_rows
from tests.helpers import REPO
from tests.store.conftest import T0, current_rows, sqlite3_shell, tiled


def test_a_new_file_is_wal_and_at_the_newest_version(tmp_path):
    with Database(tmp_path / "p.db") as db:
        assert db.query("PRAGMA journal_mode")[0][0] == "wal"
        assert db.version() == schema_version() == migrations()[-1][0]
        tables = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"channel", "batch", "span", "rollup_10s", "rollup_1m", "rollup_15m"} <= tables
        assert {"rollup_1h", "rollup_1d"} <= tables


def test_migrations_are_numbered_files_in_schema_sqlite():
    found = migrations()
    assert [v for v, _, _ in found] == sorted({v for v, _, _ in found})
    assert found[0][1] == "0001_batches.sql" and found[1][1] == "0002_history.sql"
    assert (REPO / "schema" / "sqlite" / "0002_history.sql").exists()


def test_a_failing_migration_is_rolled_back_whole(tmp_path, monkeypatch):
    path = tmp_path / "p.db"
    with Database(path):
        pass
    before = schema_version()
    bad = [
        *migrations(),
        (99, "0099_bad.sql", "CREATE TABLE half (x); INSERT INTO nowhere VALUES (1);"),
    ]
    monkeypatch.setattr(database, "migrations", lambda: bad)
    with pytest.raises(StoreError, match="migration 0099_bad.sql failed: no such table: nowhere"):
        Database(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == before
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'half'").fetchall()


def test_a_file_from_a_newer_program_is_refused(tmp_path):
    path = tmp_path / "p.db"
    with Database(path) as db:
        db.conn.execute("PRAGMA user_version = 999")
    with pytest.raises(StoreError, match="schema version 999 is newer"):
        Database(path)
    with pytest.raises(StoreError, match="schema version 999 is newer"):
        Database(path, read_only=True)


def test_upgrading_a_version_1_file_builds_spans_and_rollups_from_its_rows(tmp_path):
    """A power.db written by schema version 1 (made here with the sqlite3 shell) is upgraded."""
    path = tmp_path / "v1.db"
    v1 = (REPO / "schema" / "sqlite" / "0001_batches.sql").read_text()
    rows = [(T0 + 500 * k, 1000.0 if k <= 720 else -250.0) for k in range(1, 1441)]
    rows += [(T0 + 3_600_000 + 500 * k, 400.0) for k in range(1, 121)]  # after a 48-min gap
    inserts = "".join(
        f"INSERT INTO batch VALUES ({ts}, 1, 500, 1000, 2048, 1990, 2100, 30, NULL, NULL, "
        f"{abs(p) / 230}, {p}, {abs(p)}, 1.0, 0);\n"
        for ts, p in rows
    )
    script = (
        "PRAGMA journal_mode = WAL;\n" + v1 + "\nPRAGMA user_version = 1;\n"
        "INSERT INTO channel VALUES (1, 'main', 'current', 'A', 0.27, 0, 0, '237.0', 'mcp3008', 0);\n"
        "BEGIN;\n" + inserts + "COMMIT;\n"
    )
    sqlite3_shell_write(path, script)
    with Database(path) as db:
        assert db.version() == schema_version()
        imported, exported = db.query("SELECT sum(import_wh), sum(export_wh) FROM rollup_1d")[0]
        assert imported == pytest.approx(1000 * 360 / 3600 + 400 * 60 / 3600)
        assert exported == pytest.approx(250 * 360 / 3600)
        assert db.query("SELECT count(*) FROM rollup_1m")[0][0] == 12 + 1
        gap = db.query("SELECT from_ms, to_ms FROM gaps")
        assert [tuple(g) for g in gap] == [(T0 + 720_000, T0 + 3_600_000)]
    out = sqlite3_shell(path, "SELECT channel, import_kwh, export_kwh FROM energy_total")
    assert out == "main|0.107|0.025\n"


def sqlite3_shell_write(path, script: str) -> None:
    import shutil
    import subprocess

    from tests.helpers import skip_unless

    skip_unless(shutil.which("sqlite3") is not None, "the sqlite3 shell is not installed")
    done = subprocess.run(["sqlite3", str(path)], input=script, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_read_only_opening_never_writes(db):
    with Database(db.path, read_only=True) as reader:
        assert reader.query("SELECT count(*) FROM channel")[0][0] == 2
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.conn.execute("DELETE FROM channel")


def test_a_missing_file_is_a_clear_error_for_readers(tmp_path):
    with pytest.raises(StoreError, match="no such database"):
        Database(tmp_path / "nothing.db", read_only=True)


def test_a_reader_sees_each_commit_of_the_writer(db):
    reader = Database(db.path, read_only=True)
    for k in range(3):
        with db.atomic() as conn:
            write_rows(conn, current_rows(tiled(T0 + 60_000 * k, 60), 100.0), T0, Retention())
        assert reader.query("SELECT count(*) FROM batch")[0][0] == 120 * (k + 1)
    reader.close()


def test_a_commit_that_fails_is_rolled_back_and_the_next_one_works(db):
    with pytest.raises(sqlite3.IntegrityError):
        with db.atomic() as conn:
            conn.execute("INSERT INTO span VALUES (2, 1, 2)")
            conn.execute("INSERT INTO span VALUES (2, 1, 3)")  # same key
    assert not db.conn.in_transaction
    assert db.query("SELECT count(*) FROM span")[0][0] == 0
    with db.atomic() as conn:
        conn.execute("INSERT INTO span VALUES (2, 1, 2)")
    assert db.query("SELECT count(*) FROM span")[0][0] == 1


def test_upgrading_a_file_made_before_the_6_hour_level_fills_it_from_the_hours(db):
    ends = tiled(T0 - 7_200_000, 30 * 3600, duration_ms=10_000)
    power = np.where(ends % 7_000_000 < 3_000_000, 1500.0, -700.0)
    with db.atomic() as conn:
        write_rows(conn, current_rows(ends, power, duration_ms=10_000), T0, Retention(None))
    made = [tuple(r) for r in db.query("SELECT * FROM rollup_6h ORDER BY ts")]
    with db.atomic() as conn:  # the file as version 3 left it
        conn.execute("DROP TABLE rollup_6h")
        for view in ("alerts_active", "alerts"):  # and without what later versions added
            conn.execute(f"DROP VIEW {view}")
        conn.execute("DROP TABLE alert_event")
        for view in ("readings", "power_minute", "energy_day", "power_minute_phase"):
            conn.execute(f"DROP VIEW {view}")  # (0008 makes them again, with the phase)
        conn.execute("DROP VIEW energy_day_phase")
        conn.execute("ALTER TABLE channel DROP COLUMN phase")
        conn.execute("ALTER TABLE channel DROP COLUMN grid")
        conn.execute("PRAGMA user_version = 3")
    db.close()
    with Database(db.path) as again:
        assert again.version() == schema_version()
        filled = [tuple(r) for r in again.query("SELECT * FROM rollup_6h ORDER BY ts")]
    assert len(filled) == len(made) == 6
    for x, y in zip(made, filled, strict=True):
        assert x[:4] == y[:4] and x[11] == y[11]
        assert x[4:11] == pytest.approx(y[4:11], rel=1e-9)
