#!/usr/bin/env python3
"""History store benchmark: bytes written per day, database size, history query time, simulate speed.

    python bench/store.py writes [--hours H]      # bytes written vs commit interval, 2 and 8 channels
    python bench/store.py year [--db PATH]        # simulate a year of 2 channels, then size and queries

writes: the daemon's Writer on a FakeClock, in steady state (retention deleting as fast as
    rows come), for commit intervals from one commit per batch (the original's commit per
    row) to five minutes. "written" is what sqlite hands the kernel (write() bytes of this
    process, /proc/self/io wchar: WAL frames and checkpoints), per day of data; "data" is
    what a day of rows occupies in the file (dbstat). All intervals run in one process, one
    after the other, so their ratios hold on a noisy machine.
year: `simulate` of 365 days for 2 channels (mains voltage and the house) into a fresh file,
    timed; the file's size per table and per channel per year; then the history query for
    1 hour, 1 day, 30 days and 1 year ending now (median of repeats, warm), and daily_energy.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from corcypower import settings  # noqa: E402
from corcypower.analysis import ChannelStats  # noqa: E402
from corcypower.clock import FakeClock  # noqa: E402
from corcypower.store.database import Database  # noqa: E402
from corcypower.store.retention import Retention  # noqa: E402
from corcypower.store.rollups import LEVELS  # noqa: E402
from corcypower.store.writer import Writer, register_channels  # noqa: E402

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
TABLES = ["batch", *(level.table for level in LEVELS)]
ROWS_PER_DAY = {"batch": 172_800} | {lv.table: DAY_MS // lv.width_ms for lv in LEVELS}


def config_for(channels: int) -> settings.Config:
    tables = [{"name": "mains_v", "adc_channel": 0, "kind": "voltage", "scale": 0.25}]
    tables += [
        {"name": f"i{k}", "adc_channel": k % 8, "cs": k // 8, "kind": "current", "scale": 0.02}
        for k in range(1, channels)
    ]
    return settings.from_dict({"adc": {"chip": "emulated"}, "channels": tables})


def wchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise RuntimeError("no /proc/self/io")


def table_bytes(db: Database) -> dict[str, tuple[int, int]]:
    """(bytes of pages, rows) of each table, from dbstat."""
    out = {}
    for t in TABLES:
        size = db.query("SELECT sum(pgsize) FROM dbstat WHERE name = ?", (t,))[0][0] or 0
        rows = db.query(f"SELECT count(*) FROM {t}")[0][0]
        out[t] = (size, rows)
    return out


class Feed:
    """Batches of plausible values for every channel, 0.5 s apart, into a Writer."""

    def __init__(self, config, writer: Writer, clock: FakeClock, start_ms: int, per_row: bool):
        self.config, self.writer, self.clock, self.per_row = config, writer, clock, per_row
        self.ts = start_ms
        self.rng = np.random.default_rng(1)

    def run(self, hours: float) -> None:
        for _ in range(round(hours * 7200)):
            self.ts += 500
            r = self.rng.normal(size=4)
            stats = []
            for ch in self.config.channels:
                if ch.kind == "voltage":
                    stats.append(
                        ChannelStats(
                            ch.name,
                            "voltage",
                            1000,
                            2048.3 + r[0],
                            700,
                            3391,
                            920.0 + r[1],
                            vrms=230.0 + r[1] * 0.2,
                            frequency_hz=50.0 + r[2] * 0.01,
                        )
                    )
                else:
                    p = 400.0 + 50 * r[3]
                    stats.append(
                        ChannelStats(
                            ch.name,
                            "current",
                            1000,
                            2047.9 + r[0],
                            1990,
                            2105,
                            38.0 + r[1],
                            irms=p / 225,
                            real_power_w=p,
                            apparent_power_va=p / 0.9,
                            power_factor=0.9,
                        )
                    )
            if self.per_row:  # the original: one INSERT and one commit per channel per batch
                for one in stats:
                    self.writer.add(self.ts, 500, [one])
                    self.writer.flush()
            else:
                self.writer.add(self.ts, 500, stats)
                if self.writer.due():
                    self.writer.flush()
            self.clock.now += 0.5
        self.writer.flush()


def measure_writes(channels: int, commit_s: float | None, hours: float, workdir: Path) -> dict:
    """Bytes written per day of data at one commit interval (None: per row), in steady state."""
    path = workdir / f"w{channels}_{commit_s}.db"
    config = config_for(channels)
    clock = FakeClock()
    prefill_h = 1.0
    with Database(path) as db:
        ids = register_channels(db, config.channels, "emulated", clock.wall_ms())
        # keep one hour raw: deletes run during the measurement, as they do every day on a Pi
        retention = Retention(raw_days=prefill_h / 24)
        writer = Writer(db, ids, 60.0, clock, retention)
        feed = Feed(config, writer, clock, clock.wall_ms(), per_row=False)
        feed.run(prefill_h * 1.2)  # filled quickly, then measured as configured
        writer.commit_seconds, feed.per_row = commit_s or 0.0, commit_s is None
        db.query("PRAGMA wal_checkpoint(TRUNCATE)")
        before, commits = wchar(), writer.commits
        feed.run(hours)
        written = wchar() - before
        sizes = table_bytes(db)
    path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    per_row = {t: size / rows for t, (size, rows) in sizes.items() if rows}
    data = sum(per_row[t] * ROWS_PER_DAY[t] * channels for t in per_row)
    return {
        "channels": channels,
        "commit_s": commit_s,
        "commits_per_day": (writer.commits - commits) * 24 / hours,
        "written_per_day": written * 24 / hours,
        "data_per_day": data,
    }


def writes(args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="corcypower-bench-", dir=args.dir))
    try:
        cases = [(2, s) for s in (None, 0.0, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)]
        cases += [(8, None), (8, 0.0), (8, 60.0)]
        results = []
        for channels, commit_s in cases:
            slow = commit_s is None or commit_s < 5  # an fsync per commit: measure less
            hours = args.hours / 8 if slow else args.hours
            r = measure_writes(channels, commit_s, hours, workdir)
            results.append(r)
            every = "row" if commit_s is None else "batch" if commit_s == 0 else f"{commit_s:g} s"
            print(
                f"{channels} channels, commit per {every:>5}: "
                f"{r['written_per_day'] / 1e6:8.1f} MB written/day, "
                f"data {r['data_per_day'] / 1e6:6.1f} MB/day, "
                f"{r['written_per_day'] / r['data_per_day']:6.2f}x the data, "
                f"{r['commits_per_day']:.0f} commits/day",
                flush=True,
            )
        for channels in (2, 8):
            by = {r["commit_s"]: r["written_per_day"] for r in results if r["channels"] == channels}
            print(
                f"{channels} channels: a commit per row writes {by[None] / by[60.0]:.0f}x, a commit "
                f"per batch {by[0.0] / by[60.0]:.0f}x more than a commit every 60 s (the default)"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def year(args) -> None:
    from corcypower.store.history import daily_energy, history
    from corcypower.store.simulate import simulate

    workdir = Path(tempfile.mkdtemp(prefix="corcypower-bench-", dir=args.dir))
    path = Path(args.db) if args.db else workdir / "year.db"
    config = config_for(2)
    end = round(time.time() * 1000)
    try:
        if not path.exists():
            with Database(path) as db:
                t0 = time.perf_counter()
                rows = simulate(db, config, 365, end)
                took = time.perf_counter() - t0
            print(f"simulate 365 days of 2 channels: {took:.0f} s ({rows} batch rows)", flush=True)
        else:
            with Database(path, read_only=True) as db:
                end = db.query("SELECT max(ts) FROM batch")[0][0]
        with Database(path, read_only=True) as db:
            sizes = table_bytes(db)
            total = path.stat().st_size
            print(
                f"file: {total / 1e6:.0f} MB for 2 channels and a year ({total / 2e6:.0f} MB per channel)"
            )
            years = {"batch": 31 / 365, "rollup_10s": 366 / 365, "rollup_1m": 1827 / 365}
            steady = 0.0
            for t, (size, count) in sizes.items():
                per_row = size / count if count else 0
                kept = years.get(t)
                per_channel_year = per_row * ROWS_PER_DAY[t] * 365
                print(
                    f"  {t:<11} {size / 1e6:8.1f} MB, {count:>9} rows, {per_row:5.1f} B/row: "
                    f"{per_channel_year / 1e6:7.1f} MB per channel per year of data, kept {'forever' if kept is None else f'{kept * 365:.0f} days'}"
                )
                steady += per_channel_year * (kept if kept is not None else 0)
            forever = sum(
                size / count * ROWS_PER_DAY[t] * 365
                for t, (size, count) in sizes.items()
                if t not in years and count
            )
            print(
                f"steady state per channel (after 5 years): {steady / 1e6:.0f} MB, growing {forever / 1e6:.1f} MB per year (15m, 1h, 6h, 1d kept forever)"
            )
            ranges = {
                "1 hour": HOUR_MS,
                "1 day": DAY_MS,
                "30 days": 30 * DAY_MS,
                "1 year": 365 * DAY_MS,
            }
            timings = {}
            for _ in range(args.repeats):  # interleaved, so the machine's noise hits all alike
                for name, length in ranges.items():
                    t0 = time.perf_counter()
                    df = history(db, None, end - length, end, 1000)
                    timings.setdefault(name, []).append(time.perf_counter() - t0)
                    timings[name + " rows"] = [len(df), df["level"].iloc[0]]
            for name in ranges:
                rows, level = timings[name + " rows"]
                print(
                    f"history {name:>8}: {statistics.median(timings[name]) * 1000:6.1f} ms (median of {args.repeats}), {rows} rows at level {level}"
                )
            ratio = statistics.median(timings["1 year"]) / statistics.median(timings["1 hour"])
            print(f"history 1 year / 1 hour: {ratio:.2f}")
            t0 = time.perf_counter()
            daily_energy(db, 30, end)
            print(f"daily_energy 30 days: {(time.perf_counter() - t0) * 1000:.1f} ms")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dir", help="Where to put the databases (default: the temp dir). Use the SD card on a Pi."
    )
    sub = parser.add_subparsers(dest="what", required=True)
    w = sub.add_parser("writes", help="bytes written per day vs commit interval")
    w.add_argument("--hours", type=float, default=2.0, help="hours of data measured per interval")
    y = sub.add_parser("year", help="simulate a year; size; history query times")
    y.add_argument("--db", help="reuse this simulated database instead of making one")
    y.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    {"writes": writes, "year": year}[args.what](args)


if __name__ == "__main__":
    main()
