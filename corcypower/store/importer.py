"""Import of the original CorcyPower's data: its sqlite power.db, or a mongoexport dump.

Both hold one row per batch of one ADC channel: `time` (unix seconds at the batch's end),
`channel`, `mean`, `rms` (standard deviation of the counts), `minadc`, `maxadc`. The
original showed `rms * 237 V * 0.27 A/count` as power; here the same numbers become Irms =
rms × scale and real = apparent power = volts × Irms, as the daemon reports a channel with a
fixed voltage. A row stands for the time since the previous row of its channel (the
original slept between batches, so a batch's own length would miss the sleep), unless that
is longer than `max_gap_s`: then a gap comes first and the row stands for its own batch
(1000 samples, 0.5 s), whatever the file: the result must not depend on which file came first.

Rows go through the daemon's write path in chunks: time already covered is skipped (a row
reaching into it keeps its uncovered part: spans.trim), so an import can run twice, or from
overlapping sources in either order, and never count anything twice. A bad row (a value
the original's MCP3008 could not produce, a line too long or too deep to be a row) is
reported with its line or rowid and skipped; the rest goes in.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corcypower.errors import StoreError
from corcypower.store import spans
from corcypower.store.batches import MAX_DURATION_MS, Batches
from corcypower.store.database import Database
from corcypower.store.retention import Retention, expired, prune
from corcypower.store.writer import write_rows

FIELDS = ("time", "channel", "rms", "mean", "minadc", "maxadc")
ORIGINAL_SAMPLES = 1000  # the original read 1000 samples per batch
ORIGINAL_BATCH_S = 0.5  # ... in about half a second
MAX_COUNT = 1023  # the original's MCP3008 gives 10-bit counts
MAX_LINE_BYTES = 64 * 1024  # a mongoexport row is ~200 bytes; a longer line is not one
CHUNK_ROWS = 20_000
MAX_REPORTED = 20  # bad rows listed one by one; the rest are counted
MAX_UNIX_S = 4_102_444_800  # 2100-01-01: a larger time is in ms, or garbage


@dataclass
class Options:
    scale: float = 0.27  # amps per count
    voltage: float = 237.0  # volts
    names: dict[int, str] = field(default_factory=lambda: {0: "main"})
    max_gap_s: float = 10.0

    def name(self, adc_channel: int) -> str:
        return self.names.get(adc_channel, f"adc{adc_channel}")


@dataclass
class Report:
    source: Path
    read: int = 0
    stored: int = 0
    already: int = 0
    bad: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.bad += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(text)

    def summary(self) -> str:
        more = self.bad - len(self.problems)
        lines = (
            [*self.problems, f"... and {more} more bad rows"] if more > 0 else list(self.problems)
        )
        lines.append(
            f"{self.source}: {self.read} rows read, {self.stored} stored, "
            f"{self.already} already stored, {self.bad} bad rows skipped"
        )
        return "\n".join(lines)


# --- reading the sources: (where, values) with values in FIELDS order -----------------------


def _number(value, date: bool = True):
    """A number from JSON, unwrapping MongoDB extended JSON ({"$numberDouble": "1.5"}, $date)."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        if key in ("$numberDouble", "$numberInt", "$numberLong", "$numberDecimal"):
            return float(inner)
        if key == "$date" and date:  # ms since the epoch, or an ISO 8601 text
            if isinstance(inner, str):
                from datetime import datetime

                return datetime.fromisoformat(inner.replace("Z", "+00:00")).timestamp()
            return _number(inner, date=False) / 1000
    return value


def sqlite_rows(path: Path) -> tuple[int, Iterator[tuple[str, tuple]]]:
    """The original power.db's adc table, in time order; (row count, rows)."""
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a readable sqlite database ({exc})") from None
    try:
        cols = {r[1] for r in conn.execute("PRAGMA table_info(adc)")}
        missing = [f for f in FIELDS if f not in cols]
        if missing:
            raise StoreError(
                f"{path}: no table adc({', '.join(FIELDS)}) as the original CorcyPower wrote"
                + (f" (missing {', '.join(missing)})" if cols else "")
            )
        total = conn.execute("SELECT count(*) FROM adc").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"{path}: not a readable sqlite database ({exc})") from None

    def rows():
        last = "the first row"
        try:
            cur = conn.execute(f"SELECT rowid, {', '.join(FIELDS)} FROM adc ORDER BY time, channel")
            for row in cur:
                last = f"rowid {row[0]}"
                yield f"{path} {last}", row[1:]
        except sqlite3.DatabaseError as exc:  # a damaged file fails part way through
            raise StoreError(
                f"{path}: unreadable after {last} ({exc}); what was read before is imported, "
                "and importing again adds nothing twice"
            ) from None
        finally:
            conn.close()

    return total, rows()


def mongo_rows(path: Path) -> tuple[int, Iterator[tuple[str, tuple | str]]]:
    """A mongoexport JSON-lines dump; (file size in bytes, rows). A bad line yields its error."""
    try:
        size = path.stat().st_size
        stream = path.open("rb")
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc}") from None

    def rows():
        with stream:
            number = 0
            while raw := stream.readline(MAX_LINE_BYTES + 1):
                number += 1
                where = f"{path}:{number}"
                if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    length = len(raw) + _skip_line(stream)
                    yield where, f"a line of {length} bytes, longer than any row could be", length
                    continue
                if raw.strip():
                    yield where, _document(raw), len(raw)

    return size, rows()


def _skip_line(stream) -> int:
    """Read past the rest of an overlong line; the bytes skipped."""
    skipped = 0
    while chunk := stream.readline(MAX_LINE_BYTES):
        skipped += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return skipped


def _document(raw: bytes) -> tuple | str:
    """A line's values in FIELDS order, or what is wrong with it."""
    try:
        doc = json.loads(raw)
    except RecursionError:
        return "nested too deeply to be a row"
    except (ValueError, UnicodeDecodeError) as exc:
        return f"not JSON ({exc})"
    if not isinstance(doc, dict):
        return "expected a JSON object"
    missing = [f for f in FIELDS if f not in doc]
    if missing:
        return f"missing {', '.join(missing)}"
    try:
        return tuple(_number(doc[f]) for f in FIELDS)
    except (ValueError, TypeError, OverflowError, OSError) as exc:
        return f"bad number ({exc})"


def _short(value) -> str:
    """A value for an error message: short, and never the repr of a deep structure."""
    if isinstance(value, list | dict):
        return f"a JSON {'array' if isinstance(value, list) else 'object'}"
    text = repr(value[:40] if isinstance(value, str | bytes) else value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def check(values: tuple) -> str | None:
    """What is wrong with a row's values, or None: each must be what an MCP3008 can give."""
    numbers = []
    for name, v in zip(FIELDS, values, strict=True):
        try:
            x = float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan
        except OverflowError:  # an integer too large for a float
            x = math.nan
        if not math.isfinite(x):
            return f"{name} = {_short(v)}: expected a number"
        numbers.append(x)
    t, channel, rms, mean, low, high = numbers
    if not 0 < t < MAX_UNIX_S:
        return f"time = {_short(values[0])}: expected unix seconds"
    if channel != int(channel) or not 0 <= channel <= 7:
        return f"channel = {_short(values[1])}: expected an ADC channel 0 to 7"
    for name, count in (("minadc", low), ("maxadc", high), ("mean", mean)):
        if not 0 <= count <= MAX_COUNT:
            return f"{name} = {_short(count)}: expected ADC counts 0 to {MAX_COUNT}"
    if not low <= mean <= high:
        return f"mean = {mean!r}: expected between minadc {low!r} and maxadc {high!r}"
    # counts within [min, max] spread at most half that range (+ half a count of rounding)
    if not 0 <= rms <= (high - low) / 2 + 0.5:
        return (
            f"rms = {_short(rms)}: expected a standard deviation of counts, 0 to "
            f"(maxadc - minadc) / 2 = {(high - low) / 2:g}"
        )
    return None


# --- converting and storing ---------------------------------------------------------------


class Importer:
    """Turns checked rows into batches, one ADC channel's time line at a time."""

    def __init__(self, db: Database, options: Options, retention: Retention, now_ms: int):
        self.db, self.options, self.retention, self.now_ms = db, options, retention, now_ms
        self.ids: dict[int, int] = {}
        self.previous: dict[int, float] = {}  # last time seen per ADC channel

    def channel_id(self, adc_channel: int) -> int:
        if adc_channel not in self.ids:
            name = self.options.name(adc_channel)
            with self.db.atomic() as conn:
                conn.execute(
                    """INSERT INTO channel (name, kind, unit, scale, adc_channel, cs, voltage, chip, updated_ms)
                       VALUES (?, 'current', 'A', ?, ?, 0, ?, 'mcp3008', ?) ON CONFLICT (name) DO NOTHING""",
                    (name, self.options.scale, adc_channel, str(self.options.voltage), self.now_ms),
                )
                row = conn.execute(
                    "SELECT id, kind FROM channel WHERE name = ?", (name,)
                ).fetchone()
            if row[1] != "current":
                raise StoreError(
                    f"{self.db.path}: channel {name!r} is a {row[1]} channel; import ADC channel {adc_channel} under another name (--channel {adc_channel}=NAME)"
                )
            self.ids[adc_channel] = row[0]
        return self.ids[adc_channel]

    def batches(self, rows: list[tuple]) -> Batches:
        """Batches of checked rows (FIELDS order), durations from each channel's previous row."""
        a = np.array(rows, dtype=float).reshape(-1, len(FIELDS))
        a = a[np.lexsort((a[:, 0], a[:, 1]))]  # by channel, then time
        t, ch = a[:, 0], a[:, 1].astype(np.int64)
        prev = np.r_[np.nan, t[:-1]]
        first = np.r_[True, ch[1:] != ch[:-1]]
        prev[first] = [self.previous.get(c, np.nan) for c in ch[first].tolist()]
        gap = t - prev
        ok = (gap > 0) & (gap <= self.options.max_gap_s)
        seconds = np.where(ok, gap, ORIGINAL_BATCH_S)
        for c in np.unique(ch).tolist():
            self.previous[c] = float(t[ch == c].max())
        irms = a[:, 2] * self.options.scale
        power = irms * self.options.voltage
        return Batches.from_arrays(
            ts=np.round(t * 1000).astype(np.int64),
            channel_id=np.array([self.channel_id(c) for c in ch.tolist()], dtype=np.int64),
            duration_ms=np.clip(np.round(seconds * 1000), 1, MAX_DURATION_MS),
            n=np.full(len(t), ORIGINAL_SAMPLES),
            mean=a[:, 3],
            min=np.round(a[:, 4]),
            max=np.round(a[:, 5]),
            rms=a[:, 2],
            irms=irms,
            real_power_w=power,
            apparent_power_va=power,
        )

    def store(self, rows: list[tuple]) -> int:
        batches = self.batches(rows)  # may register channels, in their own transaction
        with self.db.atomic() as conn:
            return write_rows(conn, spans.trim(conn, batches), self.now_ms, self.retention)


def detect(path: Path) -> str:
    """ "sqlite" or "mongo", from the file's first bytes."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc}") from None
    if head.startswith(b"SQLite format 3"):
        return "sqlite"
    if head.lstrip()[:1] == b"{" or not head.strip():
        return "mongo"
    raise StoreError(f"{path}: neither a sqlite database nor a mongoexport JSON-lines file")


def import_old(
    db: Database,
    path: str | Path,
    options: Options | None = None,
    retention: Retention | None = None,
    now_ms: int | None = None,
    start: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Import an original CorcyPower power.db or mongoexport dump into db.

    `start(total)` is called once with the rows (sqlite) or bytes (JSON) to go, then
    `progress(n)` as they are done.
    """
    path = Path(path)
    options = options or Options()
    if not 0 < options.max_gap_s <= MAX_DURATION_MS / 1000:
        raise StoreError(
            f"max gap {options.max_gap_s} s: expected more than 0 and at most {MAX_DURATION_MS / 1000:g} s"
        )
    retention = retention or Retention()
    now_ms = round(time.time() * 1000) if now_ms is None else now_ms
    kind = detect(path)
    report = Report(path)
    importer = Importer(db, options, retention, now_ms)
    total, source = sqlite_rows(path) if kind == "sqlite" else mongo_rows(path)
    if start:
        start(total)
    chunk: list[tuple] = []

    def flush():
        stored = importer.store(chunk) if chunk else 0
        report.stored += stored
        report.already += len(chunk) - stored
        chunk.clear()

    for item in source:
        where, values = item[0], item[1]
        done = item[2] if len(item) > 2 else 1
        report.read += 1
        problem = values if isinstance(values, str) else check(values)
        if problem:
            report.problem(f"{where}: {problem}; skipped")
        else:
            chunk.append(values)
            if len(chunk) >= CHUNK_ROWS:
                flush()
        if progress:
            progress(done)
    flush()
    while True:
        with db.atomic() as conn:
            if not expired(conn, retention, now_ms):
                break
            prune(conn, retention, now_ms)
    return report
