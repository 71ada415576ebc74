"""Fuzzing the import of the original's data (store/importer.py): generated power.db rows and
mongoexport lines. Whatever they hold: a row is stored or reported and skipped, never a
traceback; nothing non-finite is stored; the file passes integrity_check; rows stored
before are untouched."""

from __future__ import annotations

import json
import math
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corcypower.errors import StoreError
from corcypower.store.database import Database
from corcypower.store.importer import FIELDS, import_old
from tests.store.test_importer import NOW, START_S, good_rows, mongo_line, original_db

BASE_ROWS = 1200  # ten minutes of good rows, imported once before any generated file

# numbers of every kind, near the good rows' values and far from them
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-2.0, max_value=1100.0),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, 1, 7, 8, -1, 511.5, 1023, 1024, 1e308, -1e308, 5e-324]),
)
times = st.one_of(
    st.floats(min_value=START_S - 30, max_value=START_S + 700),  # in and around the base rows
    st.sampled_from([0, -1, START_S * 1000, 4_102_444_800, 1e300]),
    numbers,
)
cells = st.one_of(numbers, st.text(max_size=20), st.binary(max_size=20), st.none())


@st.composite
def legacy_rows(draw):
    """A row of the original's adc table: mostly plausible, any cell possibly anything."""
    t = draw(times)
    plausible = (t, draw(st.integers(0, 8)), draw(st.floats(0, 40)), 511.0, 480.0, 543.0)
    return tuple(draw(st.one_of(st.just(v), cells)) for v in plausible)


class Base:
    """One database per test run, holding the base rows, and what they must stay."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="fuzz-import-"))
        self.db = Database(self.dir / "power.db")
        original_db(self.dir / "base.db", good_rows(START_S, BASE_ROWS))
        import_old(self.db, self.dir / "base.db", now_ms=NOW)
        self.rows = self.raw_rows()
        self.count = 0

    def raw_rows(self):
        lo, hi = START_S * 1000, (START_S + BASE_ROWS * 0.5) * 1000
        sql = "SELECT * FROM batch WHERE channel_id = 1 AND ts > ? AND ts <= ? ORDER BY ts"
        return [tuple(r) for r in self.db.query(sql, (lo, hi))]

    def file(self, suffix: str) -> Path:
        self.count += 1
        return self.dir / f"source{self.count}{suffix}"

    def check(self, report) -> None:
        assert report.read == report.stored + report.already + report.bad
        assert self.db.query("PRAGMA integrity_check")[0][0] == "ok"
        for table, columns in REAL_COLUMNS.items():
            bad = " OR ".join(f"abs({c}) > 1.7976931348623157e308" for c in columns)
            assert self.db.query(f"SELECT count(*) FROM {table} WHERE {bad}")[0][0] == 0, table
        assert self.raw_rows() == self.rows  # the rows stored before are untouched


REAL_COLUMNS = {
    "batch": ("mean", "rms", "irms", "real_power_w", "apparent_power_va"),
    "rollup_10s": ("mean", "min", "max", "rms", "import_wh", "export_wh", "apparent_vah"),
    "rollup_1d": ("mean", "min", "max", "rms", "import_wh", "export_wh", "apparent_vah"),
}


@pytest.fixture(scope="module")
def base():
    made = Base()
    yield made
    made.db.close()


@given(rows=st.lists(legacy_rows(), max_size=12))
def test_legacy_power_db_rows(base, rows):
    path = base.file(".db")
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE adc ({', '.join(FIELDS)})")  # no types: sqlite keeps anything
    conn.executemany("INSERT INTO adc VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    report = import_old(base.db, path, now_ms=NOW)
    assert report.read == len(rows)
    base.check(report)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers.filter(math.isfinite), st.text(max_size=12)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["$numberDouble", "$date", "$numberLong", "x"]), inner),
    ),
    max_leaves=6,
)


@st.composite
def mongo_lines(draw) -> str:
    """A line of a mongoexport dump: a good one, one with odd fields, or not a row at all."""
    kind = draw(st.sampled_from(["good", "fields", "text", "deep", "long"]))
    if kind == "good":
        return mongo_line(draw(times), draw(st.integers(0, 8)), draw(st.floats(0, 40)))
    if kind == "fields":
        doc = json.loads(mongo_line(draw(times)))
        for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
            doc[name] = draw(json_values)
        if draw(st.booleans()):
            doc.pop(draw(st.sampled_from(FIELDS)))
        return json.dumps(doc)
    if kind == "deep":
        depth = draw(st.integers(500, 5000))
        return draw(st.sampled_from(["[", '{"a":'])) * depth
    if kind == "long":
        return json.dumps({"time": START_S, "pad": "x" * draw(st.integers(65_000, 66_000))})
    return draw(st.text(max_size=60)).replace("\n", " ")


@given(lines=st.lists(mongo_lines(), max_size=8), newline=st.booleans())
def test_mongoexport_lines(base, lines, newline):
    path = base.file(".json")
    path.write_text(
        "\n".join(lines) + ("\n" if newline else ""), encoding="utf-8", errors="replace"
    )
    try:
        report = import_old(base.db, path, now_ms=NOW)
    except StoreError as exc:  # a file that is not a dump at all: refused whole, and named
        assert str(exc).startswith(f"{path}: neither a sqlite database nor a mongoexport")
        assert base.raw_rows() == base.rows
        return
    base.check(report)
