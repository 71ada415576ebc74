"""Fuzzing the command line of the store (cli/history.py and status): generated arguments for
import, export, simulate, rebuild and status. Whatever they are: a result or a one-line
error with exit code 1 or 2, never a traceback; the database's rows stay intact."""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from corcypower.cli import cli
from corcypower.store.database import Database
from tests.conftest import CHANNELS
from tests.store.test_importer import good_rows, mongo_line, original_db

CONFIG = """
[adc]
chip = "emulated"
[emulator]
chip = "mcp3208"
[store]
path = "{db}"
"""


class Files:
    """A simulated database and files of every kind the commands may be pointed at."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="fuzz-cli-"))
        self.db = self.dir / "power.db"
        self.config = self.dir / "config.toml"
        self.config.write_text(CONFIG.format(db=self.db) + CHANNELS)
        assert invoke("simulate", "--config", self.config, "--days", "0.02").exit_code == 0
        original_db(self.dir / "old.db", good_rows(time.time() - 7200, 50))
        (self.dir / "adc.json").write_text(mongo_line(time.time() - 3600) + "\n")
        (self.dir / "notes.txt").write_text("not a database\n")
        with sqlite3.connect(self.dir / "other.db") as conn:
            conn.execute("CREATE TABLE notes (text)")
        (self.dir / "empty").write_bytes(b"")
        self.paths = [
            self.db, self.dir / "old.db", self.dir / "adc.json", self.dir / "notes.txt",
            self.dir / "other.db", self.dir / "empty", self.dir, self.dir / "missing.db",
            self.dir / "missing" / "dir" / "x.db", self.dir / "notes.txt" / "x.db",
        ]  # fmt: skip
        self.rows = self.raw_rows()

    def raw_rows(self):
        with Database(self.db, read_only=True) as db:
            return db.query("SELECT count(*), sum(real_power_w), max(ts) FROM batch")[0][:]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def files():
    made = Files()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(made.dir)  # where --out out.csv goes
        yield made


# values an option may be given: plausible ones, numbers out of range, and anything at all
odd_numbers = st.sampled_from(
    ["99999999999999999999", "-1", "0", "nan", "inf", "-inf", "1e308", "1e-308", "0x10", ""]
)
anything = st.one_of(odd_numbers, st.text(max_size=30), st.integers().map(str))
times = st.one_of(
    st.sampled_from(["now", "-1h", "-30d", "-99999999999999999999d", "0001-01-01", "9999-12-31"]),
    st.sampled_from(["2026-03-01", "2026-03-01 18:30", "1970-01-01T00:00+00:00", "-0s", "-1.5w"]),
    st.datetimes().map(lambda d: d.isoformat()),
    anything,
)

OPTIONS = {
    "export": {
        "--start": times,
        "--end": times,
        "--channels": st.one_of(st.sampled_from([",", "main", "main,solar", " , main"]), anything),
        "--resolution": st.one_of(st.sampled_from(["auto", "raw", "1m", "1d", "2m"]), anything),
        "--points": st.one_of(st.integers(-5, 2_000_000).map(str), odd_numbers, anything),
        "--out": st.sampled_from(["-", "out.csv", "/nonexistent/dir/x.csv", ".", "/"]),
    },
    "import": {
        "--scale": st.one_of(st.floats().map(str), odd_numbers, anything),
        "--voltage": st.one_of(st.floats().map(str), odd_numbers, anything),
        "--channel": st.one_of(st.sampled_from(["0=main", "1=x", "8=y", "=", "0="]), anything),
        "--max-gap": st.one_of(st.floats().map(str), odd_numbers, anything),
    },
    # --days: never a valid value above 0.01, which would simulate for minutes
    "simulate": {
        "--days": st.one_of(
            st.floats().filter(lambda d: not 0.01 < d <= 3660).map(str),
            odd_numbers,
            st.text(max_size=10).filter(lambda t: not _number_above(t, 0.01)),
        )
    },
    "rebuild": {},
    "status": {},
}


def _number_above(text: str, limit: float) -> bool:
    try:
        return float(text) > limit
    except ValueError:
        return False


@st.composite
def command_lines(draw, files: Files):
    command = draw(st.sampled_from(sorted(OPTIONS)))
    args = [command]
    if draw(st.integers(0, 9)):  # mostly the good config; sometimes none
        args += ["--config", files.config]
    if draw(st.integers(0, 3)) == 0:
        args += ["--db", draw(st.sampled_from(files.paths))]
    if command == "import":
        args.append(draw(st.sampled_from(files.paths[1:])))
    options = OPTIONS[command]
    for name in draw(st.lists(st.sampled_from(sorted(options)), max_size=4)) if options else []:
        args += [name, draw(options[name])]
    if draw(st.integers(0, 9)) == 0:
        args.append(draw(anything))  # a stray argument
    return args


@given(data=st.data())
def test_history_commands_answer_or_fail_in_one_line(files, data):
    args = data.draw(command_lines(files))
    result = invoke(*args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args}: {result.exception!r}"
    )
    assert result.exit_code in (0, 1, 2), (args, result.output)
    if result.exit_code:
        errors = [line for line in result.output.splitlines() if line.startswith("Error")]
        assert len(errors) == 1, (args, result.output)
    assert "Traceback" not in result.output
    rows_now = files.raw_rows()
    assert rows_now[0] >= files.rows[0]  # nothing lost (an import may add)
    with sqlite3.connect(files.db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
