"""Import of the original CorcyPower data: its power.db and a mongoexport dump."""

from __future__ import annotations

import json
import sqlite3

import pytest

from corcypower.errors import StoreError
from corcypower.store.database import Database
from corcypower.store.importer import Options, import_old
from corcypower.store.retention import Retention
from tests.store.conftest import T0

START_S = T0 / 1000
WATTS = 10.0 * 0.27 * 237  # rms 10 counts, as the original dashboard computed kW (x 1000)
NOW = T0 + 86_400_000


def original_db(path, rows) -> None:
    """A power.db as the original mcp_rms.py / db_sqlite.py wrote it."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE adc (time real, channel integer, rms real, mean real, minadc real, maxadc real, PRIMARY KEY (time, channel))"
    )
    conn.executemany("INSERT INTO adc VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()


def good_rows(start_s, count, channel=0, step=0.5, rms=10.0):
    return [(start_s + step * (k + 1), channel, rms, 511.3, 480.0, 543.0) for k in range(count)]


@pytest.fixture
def old_db(tmp_path):
    rows = good_rows(START_S, 7200) + good_rows(START_S + 3900, 600)  # an hour, 5 min off, 5 min
    rows += good_rows(START_S, 100, channel=1, rms=2.0)
    rows += [
        (None, 0, 1.0, 511.0, 500.0, 520.0),
        (START_S + 10.25, 0, "abc", 511.0, 500.0, 520.0),
        (START_S + 10.75, 9, 1.0, 511.0, 500.0, 520.0),
        (T0 + 1.0, 0, 1.0, 511.0, 500.0, 520.0),  # ms, not seconds
    ]
    path = tmp_path / "old-power.db"
    original_db(path, rows)
    return path


def energy(db, name="main") -> tuple[float, float, int]:
    return tuple(
        db.query(
            "SELECT sum(r.import_wh), sum(r.export_wh), sum(r.duration_ms) FROM rollup_1d r JOIN channel c ON c.id = r.channel_id WHERE c.name = ?",
            (name,),
        )[0]
    )


def test_the_original_power_db_goes_in_with_bad_rows_reported(db, old_db):
    report = import_old(db, old_db, now_ms=NOW)
    assert (report.read, report.stored, report.already, report.bad) == (7904, 7900, 0, 4)
    problems = "\n".join(report.problems)
    assert "old-power.db rowid 7901: time = None: expected a number; skipped" in problems
    assert "rowid 7902: rms = 'abc': expected a number" in problems
    assert "rowid 7903: channel = 9: expected an ADC channel 0 to 7" in problems
    assert "rowid 7904: time = 1767225600001.0: expected unix seconds" in problems
    imported, exported, ms = energy(db)
    assert ms == (7200 + 600) * 500  # each row stands for the time since the one before
    assert imported == pytest.approx(WATTS * 3900 / 3600) and exported == 0
    assert energy(db, "adc1")[0] == pytest.approx(2.0 * 0.27 * 237 * 50 / 3600)
    gaps = db.query("SELECT channel, seconds FROM gaps")
    assert [tuple(g) for g in gaps] == [("main", 300.0)]
    row = db.query("SELECT * FROM readings WHERE channel = 'main' ORDER BY ts LIMIT 1")[0]
    assert row["real_power_w"] == pytest.approx(WATTS) == row["apparent_power_va"]
    assert row["irms"] == pytest.approx(2.7) and (row["min"], row["max"], row["mean"]) == (
        480,
        543,
        511.3,
    )
    channel = db.query("SELECT kind, unit, scale, voltage FROM channel WHERE name = 'main'")[0]
    assert tuple(channel) == ("current", "A", 0.02, "mains_v")  # the configured channel is kept


def test_running_it_twice_adds_nothing(db, old_db):
    import_old(db, old_db, now_ms=NOW)
    before = energy(db)
    again = import_old(db, old_db, now_ms=NOW)
    assert (again.stored, again.already, again.bad) == (0, 7900, 4)
    assert energy(db) == before


def test_old_data_goes_to_the_rollups_and_stays_idempotent(db, old_db):
    later = T0 + 400 * 86_400_000  # a year on: past raw and 10 s retention
    first = import_old(db, old_db, retention=Retention(), now_ms=later)
    assert first.stored == 7900
    assert db.query("SELECT count(*) FROM batch")[0][0] == 0
    assert db.query("SELECT count(*) FROM rollup_10s")[0][0] == 0
    assert db.query("SELECT count(*) FROM rollup_1m")[0][0] == 60 + 5 + 1  # main, adc1
    assert import_old(db, old_db, now_ms=later).stored == 0
    assert energy(db)[0] == pytest.approx(WATTS * 3900 / 3600)


def mongo_line(t, channel=0, rms=10.0, oid=0):
    return json.dumps(
        {
            "_id": {"$oid": f"{oid:024x}"},
            "time": t,
            "channel": channel,
            "rms": {"$numberDouble": str(rms)},
            "mean": 511.2,
            "minadc": {"$numberInt": "470"},
            "maxadc": 552.0,
        }
    )


def test_a_mongoexport_dump_with_bad_lines(db, tmp_path):
    # the MongoDB version slept 1 s after each 0.5 s batch: rows 1.5 s apart
    lines = [mongo_line(START_S + 1.5 * (k + 1), oid=k) for k in range(2400)]
    lines[10] = "{not json"
    lines[20] = json.dumps({"time": START_S + 31.5, "channel": 0})
    lines[30] = mongo_line("yesterday")
    lines.insert(40, "")
    path = tmp_path / "adc.json"
    path.write_text("\n".join(lines) + "\n")
    report = import_old(db, path, Options(names={0: "old"}), now_ms=NOW)
    assert (report.stored, report.bad) == (2397, 3)
    assert report.problems[0].startswith(f"{path}:11: not JSON")
    assert report.problems[1] == f"{path}:21: missing rms, mean, minadc, maxadc; skipped"
    assert report.problems[2] == f"{path}:31: time = 'yesterday': expected a number; skipped"
    imported, _, ms = energy(db, "old")
    # a skipped row's time is carried by the next row; the first stands for its own batch
    assert ms == 2399 * 1500 + 500
    assert imported == pytest.approx(WATTS * 3599 / 3600)
    assert import_old(db, path, Options(names={0: "old"}), now_ms=NOW).stored == 0


def test_overlapping_sources_are_not_counted_twice(db, tmp_path, old_db):
    import_old(db, old_db, now_ms=NOW)
    before = energy(db)
    path = tmp_path / "adc.json"
    path.write_text("\n".join(mongo_line(t) for t, *_ in good_rows(START_S + 0.1, 600)) + "\n")
    report = import_old(db, path, now_ms=NOW)
    assert (report.stored, report.already) == (0, 600)
    assert energy(db) == before


def test_files_that_are_neither_are_refused(db, tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (y)").connection.commit()
    with pytest.raises(StoreError, match="no table adc.time, channel, rms, mean, minadc, maxadc."):
        import_old(db, other)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(StoreError, match="neither a sqlite database nor a mongoexport"):
        import_old(db, text)
    with pytest.raises(StoreError, match="max gap 30 s"):
        import_old(db, other, Options(max_gap_s=30))


def test_values_no_mcp3008_can_give_are_reported_and_skipped(db, tmp_path):
    """rms = 1e308 used to go in, and made energy_total Inf for good."""
    rows = good_rows(START_S, 20)
    rows[3] = (rows[3][0], 0, 1e308, 511.0, 480.0, 543.0)
    rows[5] = (rows[5][0], 0, 10.0, 511.0, 480.0, 5000.0)
    rows[7] = (rows[7][0], 0, 10.0, 600.0, 480.0, 543.0)
    rows[9] = (rows[9][0], 0, 40.0, 511.0, 480.0, 543.0)
    path = tmp_path / "old.db"
    original_db(path, rows)
    report = import_old(db, path, now_ms=NOW)
    assert (report.stored, report.bad) == (16, 4)
    assert report.problems == [
        f"{path} rowid 4: rms = 1e+308: expected a standard deviation of counts, 0 to (maxadc - minadc) / 2 = 31.5; skipped",
        f"{path} rowid 6: maxadc = 5000.0: expected ADC counts 0 to 1023; skipped",
        f"{path} rowid 8: mean = 600.0: expected between minadc 480.0 and maxadc 543.0; skipped",
        f"{path} rowid 10: rms = 40.0: expected a standard deviation of counts, 0 to (maxadc - minadc) / 2 = 31.5; skipped",
    ]
    assert energy(db)[0] == pytest.approx(WATTS * 10 / 3600)  # finite; the next rows carry it
    assert db.query("SELECT import_kwh FROM energy_total")[0][0] < 1


def test_deep_huge_and_odd_lines_are_named_and_skipped(db, tmp_path):
    """A line 20k levels deep used to abort the whole import with a RecursionError."""
    lines = [mongo_line(START_S + 0.5 * (k + 1), oid=k) for k in range(10)]
    lines[2] = "[" * 20_000 + "]" * 20_000
    lines[4] = "[" * 100_000 + "]" * 100_000
    lines[6] = mongo_line(START_S + 3.5).replace('"time": ', '"time": 1' + "0" * 400 + ', "t": ')
    lines[8] = mongo_line({"$date": {"$date": {"$date": 5}}})
    path = tmp_path / "adc.json"
    path.write_text("\n".join(lines) + "\n")
    report = import_old(db, path, now_ms=NOW)
    assert (report.read, report.stored, report.bad) == (10, 6, 4)
    assert report.problems[0] == f"{path}:3: nested too deeply to be a row; skipped"
    assert (
        report.problems[1]
        == f"{path}:5: a line of 200001 bytes, longer than any row could be; skipped"
    )
    assert report.problems[2].startswith(f"{path}:7: time = 1000000000")
    assert report.problems[3].startswith(f"{path}:9: bad number")


def test_a_damaged_sqlite_file_is_a_clear_error(db, tmp_path):
    path = tmp_path / "old.db"
    original_db(path, good_rows(START_S, 20_000))
    data = bytearray(path.read_bytes())
    data[40_000:200_000] = b"\xa5" * 160_000  # pages in the middle overwritten
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"old.db: (unreadable after|not a readable).*malformed"):
        import_old(db, path, now_ms=NOW)
    assert db.query("PRAGMA integrity_check")[0][0] == "ok"


def test_the_order_of_the_files_does_not_matter(tmp_path):
    """The old power.db began part way through the MongoDB data it was migrated from.

    Imported before the mongoexport dump, its first row used to stand for the typical 0.5 s
    of its own rows, not the 1.5 s since the previous MongoDB row: a 1 s gap in the data.
    """
    mongo = [START_S + 1.5 * (k + 1) for k in range(400)]
    sqlite_rows = [(t, 0, 10.0, 511.3, 480.0, 543.0) for t in mongo[200:]]
    sqlite_rows += good_rows(mongo[-1], 2000)  # then the sqlite version: 0.5 s apart
    original_db(tmp_path / "power.db", sqlite_rows)
    dump = tmp_path / "adc.json"
    dump.write_text("".join(mongo_line(t, oid=k) + "\n" for k, t in enumerate(mongo)))
    results = []
    for n, order in enumerate([(tmp_path / "power.db", dump), (dump, tmp_path / "power.db")]):
        with Database(tmp_path / f"new{n}.db") as new:
            reports = [import_old(new, source, now_ms=NOW) for source in order]
            assert sum(r.bad for r in reports) == 0
            results.append(
                (
                    new.query("SELECT channel_id, start_ms, end_ms FROM span"),
                    new.query("SELECT count(*) FROM gaps")[0][0],
                    new.query("SELECT ts, duration_ms, import_wh FROM rollup_1m ORDER BY ts"),
                )
            )
    (spans_a, gaps_a, minutes_a), (spans_b, gaps_b, minutes_b) = results
    assert [tuple(s) for s in spans_a] == [tuple(s) for s in spans_b] and len(spans_a) == 1
    assert gaps_a == gaps_b == 0
    assert [tuple(m)[:2] for m in minutes_a] == [tuple(m)[:2] for m in minutes_b]
    assert [m[2] for m in minutes_a] == pytest.approx([m[2] for m in minutes_b], rel=1e-12)
