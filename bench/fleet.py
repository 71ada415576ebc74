#!/usr/bin/env python3
"""Fleet benchmark: many devices' minutes in one central MariaDB, and the queries a dashboard makes.

    python bench/fleet.py [--devices 20 50 100 200] [--days 30] [--workers 4]
                          [--volume channel|device] [--buffer-pool 1G] [--written N]

A throwaway MariaDB is started here (tests/export/mariadb.py, in a temporary directory, with
its default durability: a log flush per commit) and set up by `corcypower mysql init`'s own
code. Devices are added in stages (20, then up to 50, 100, 200); each new device gets `days`
days of minutes of 4 current channels (a house, a heat pump, a car charger, solar panels:
synthetic, deterministic), sent through the exporter's own path (export/tables.py makes the
ChannelMinute and VolumeData rows, Central.write upserts them, batch_rows = 1000 minute-rows
per transaction) by `workers` processes, each on its own connection. The fleet moves through
time together, as it does when every device exports (each write is one device's next 1000
minute-rows), so the tables grow in the order they would.

--written N: only the first N devices are sent through the exporter's path (the ingest rate is
theirs); every later device is a copy of one of them made by the server itself (INSERT ...
SELECT of every table's rows under its own point, the summaries included, the triggers off
meanwhile): the fleet reaches its full size, for the sizes and the queries, in the time a
shared machine has. The copy's rate is reported apart and is not an ingest rate.
--minutes-for M: devices from M on are copies of the summaries only (ChannelQuarter,
ChannelHour, ChannelDay), without minutes: the fleet's summaries at full size for the queries
that read them (every device's days, the top devices, a month of a device), when the minutes
would take too long to copy; ChannelMinute and VolumeData are then counted per device-year
over the first M devices only, and a query reading minutes sees M devices' worth.

After each stage it reports:
- ingest: ChannelMinute rows per second (VolumeData and the ChannelHour triggers' work come
  on top), and one "fleet minute": every device upserting its latest minute, as each does
  once a minute in steady state;
- size: bytes per table (information_schema after ANALYZE TABLE, and the .ibd files), and
  per device-year;
- the queries (export/central.py's Reader, timed around the call, pandas included): the first
  run (cold: what the buffer pool did not hold came from disk), then the medians of 5 more of
  the wall time, of this process's CPU time and of the server's (mariadbd's, from /proc): on a
  machine shared with other work the wall time grows with its load, the CPU times do not.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from corcypower.dashboard.house import CENTRAL_ROWS  # noqa: E402
from corcypower.export import schema  # noqa: E402
from corcypower.export.central import Reader  # noqa: E402
from corcypower.export.config import ExportSettings, VolumePoint  # noqa: E402
from corcypower.export.mysql import Central  # noqa: E402
from corcypower.export.tables import MinuteRow, channel_records, volume_records  # noqa: E402
from tests.export.mariadb import PASSWORD, USER, MariaDB  # noqa: E402

CHANNELS = ("house", "heatpump", "car", "solar")
BATCH_ROWS = 1000  # the exporter's default batch_rows
MINUTE_MS = 60_000
END = datetime(2026, 4, 9, tzinfo=UTC)  # 30 days before it hold Europe's switch to summer time
TZ = "Europe/Brussels"
HOUSE = 3  # devices in the house view
SUMMARIES = ("ChannelQuarter", "ChannelHour", "ChannelDay")
COPIED = ("ChannelMinute", *SUMMARIES, "VolumeData")


def point(device: int) -> str:
    return f"device-{device:03d}"


def volume_points(device: int, mode: str) -> tuple[VolumePoint, ...]:
    """The exporter's default (a VolumeData point per channel) or one point for the device."""
    name = point(device)
    if mode == "device":
        return (VolumePoint(name, CHANNELS, "import"),)
    return tuple(VolumePoint(f"{name}-{c}", (c,), "import") for c in CHANNELS)


def minutes(device: int, first_minute: int, count: int, start_ms: int) -> list[MinuteRow]:
    """`count` minutes of the device's 4 channels, in the outbox's order (time, then channel)."""
    rng = np.random.default_rng(device * 1_000_003 + first_minute)
    m = first_minute + np.arange(count)
    hour = (m / 60.0) % 24
    day = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)  # daylight, 0 at night
    size = 0.5 + (device % 7) / 4  # houses differ
    avg = np.stack(
        [
            size * (300 + 500 * np.clip(np.sin((hour - 17) / 8 * np.pi), 0, None)),
            size * 900 * (rng.random(count) < 0.4),
            7400.0 * ((hour > 1) & (hour < 4) & (device % 3 == 0)),
            -size * 3000 * day,
        ],
        axis=1,
    ) + rng.normal(0, 10, (count, len(CHANNELS)))
    spread = np.abs(rng.normal(0, 50, (count, len(CHANNELS))))
    rows = []
    for k in range(count):
        ts = start_ms + int(m[k]) * MINUTE_MS
        for c, name in enumerate(CHANNELS):
            w = float(avg[k, c])
            rows.append(
                MinuteRow(
                    ts,
                    name,
                    max(w, 0) / 60,
                    max(-w, 0) / 60,
                    w - spread[k, c],
                    w + spread[k, c],
                    w,
                    120,
                    60_000,
                )  # fmt: skip
            )
    return rows


def ingest(job: tuple) -> int:
    """A worker: its devices' minutes, in time order across them, on its own connection."""
    settings, devices, total_minutes, start_ms, volume = job
    central = Central(settings)
    per_write = BATCH_ROWS // len(CHANNELS)
    sent = 0
    for first in range(0, total_minutes, per_write):
        count = min(per_write, total_minutes - first)
        for device in devices:
            rows = minutes(device, first, count, start_ms)
            records = channel_records(point(device), rows)
            records += volume_records(volume_points(device, volume), rows)
            assert central.write(records) == []
            sent += len(rows)
    central.close()
    return sent


def copy(job: tuple) -> int:
    """A worker: copies of written devices under new points, every table's rows of the device
    (its VolumeData points' too), one transaction per device, on its own connection; the
    ChannelMinute rows made. The triggers are off meanwhile: the summaries are copied too."""
    settings, devices, written, tables_copied = job
    central = Central(settings)
    central.connect()
    made = 0
    with central.conn.cursor() as cur:
        tables = {}
        for table in tables_copied:
            cur.execute(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                "DATABASE() AND TABLE_NAME = %s AND EXTRA NOT LIKE '%%GENERATED%%' "
                "ORDER BY ORDINAL_POSITION",
                (table,),
            )
            tables[table] = [c for (c,) in cur.fetchall()]
        for device in devices:
            new, old = point(device), point(device % written)
            for table, columns in tables.items():
                values = [  # the point's name, and what a VolumeData point adds to it
                    f"CONCAT(%s, SUBSTRING(`Point`, {len(old) + 1}))" if c == "Point" else f"`{c}`"
                    for c in columns
                ]
                rows = cur.execute(
                    f"""INSERT INTO `{table}` ({", ".join(f"`{c}`" for c in columns)})
                        SELECT {", ".join(values)} FROM `{table}`
                        WHERE `Point` = %s OR `Point` LIKE %s""",
                    (new, old, f"{old}-%"),
                )
                made += rows if table == "ChannelMinute" else 0
            central.conn.commit()
    central.close()
    return made


def copies(server: MariaDB, database: str, settings, devices: list[int], written: int, minutes_for):
    """The devices as server-side copies (copy()), the triggers dropped meanwhile and made
    again as `mysql init` makes them: (ChannelMinute rows made, seconds). Devices from
    `minutes_for` on get the summaries only."""
    if not devices:
        return 0, 0.0
    full = [d for d in devices if d < minutes_for]
    summaries = [d for d in devices if d >= minutes_for]
    triggers = schema.triggers()
    for name in triggers:
        server.query(database, f"DROP TRIGGER `{name}`")
    try:
        # One connection: two INSERT ... SELECT reading the same devices' rows deadlocked.
        made, seconds = in_parallel(copy, 1, full, settings, written, COPIED)
        more, more_s = in_parallel(copy, 1, summaries, settings, written, SUMMARIES)
        return made + more, seconds + more_s
    finally:
        for statement in triggers.values():
            server.query(database, statement, None)  # no parameters: a % is a %


def fleet_minute(settings: ExportSettings, devices: int, minute: int, start_ms: int, volume):
    """Seconds for every device to upsert one minute, each in its own transaction."""
    central = Central(settings)
    central.connect()
    t0 = time.perf_counter()
    for device in range(devices):
        rows = minutes(device, minute, 1, start_ms)
        records = channel_records(point(device), rows)
        records += volume_records(volume_points(device, volume), rows)
        central.write(records)
    seconds = time.perf_counter() - t0
    central.close()
    return seconds


def sizes(server: MariaDB, database: str) -> dict[str, tuple[int, int]]:
    """Per table: (data + index bytes from information_schema, bytes of its .ibd files)."""
    tables = [t for (t,) in server.query(database, "SHOW TABLES")]
    for table in tables:
        server.query(database, f"ANALYZE TABLE `{table}`")
    found = {}
    for table, data, index in server.query(
        database,
        "SELECT TABLE_NAME, DATA_LENGTH, INDEX_LENGTH FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = %s",
        (database,),
    ):
        files = server.datadir.glob(f"{database}/{table}.ibd")
        parts = server.datadir.glob(f"{database}/{table}#P#*.ibd")
        found[table] = (data + index, sum(f.stat().st_size for f in [*files, *parts]))
    return found


def timed(call, server: MariaDB, repeat: int = 5) -> tuple:
    """(first run's wall s, then the medians of `repeat` runs: wall s, this process's CPU s,
    the server's CPU s; the first result). CPU time does not grow with the machine's load."""
    t0 = time.perf_counter()
    result = call()
    first = time.perf_counter() - t0
    runs = []
    for _ in range(repeat):
        t0, c0, s0 = time.perf_counter(), time.process_time(), server.cpu_seconds()
        call()
        runs.append((time.perf_counter() - t0, time.process_time() - c0, server.cpu_seconds() - s0))
    wall, client, server = (statistics.median(r) for r in zip(*runs, strict=True))
    return first, wall, client, server, result


def queries(reader: Reader, devices: int, end_ms: int, server: MariaDB) -> list[tuple]:
    """(name, rows returned, first wall s, median wall s, client CPU s, server CPU s)."""
    month = [(point(0), c) for c in CHANNELS]
    house = [(point(d), c) for d in range(min(HOUSE, devices)) for c in CHANNELS]
    yesterday = (END - timedelta(days=1)).date()
    day, week, days = (end_ms - k * 86_400_000 for k in (1, 7, 30))
    plan = [
        ("channels of every device", lambda: reader.channels()),
        ("one device's month (4 ch, <= 1000 points)", lambda: reader.history(month, days, end_ms)),
        ("every device's daily energy, 30 days (point_energy)", lambda: reader.point_energy(None, 30, end_ms - 1, TZ)),
        ("every channel's daily energy, 30 days (daily_energy)", lambda: reader.daily_energy(None, 30, end_ms - 1, TZ)),
        ("top 10 devices yesterday", lambda: reader.top_points(yesterday, TZ, 10)),
        (f"house: {len(house)} channels' day (<= 1000 points)", lambda: reader.history(house, day, end_ms)),
        (f"house: {len(house)} channels' week (<= 1000 points)", lambda: reader.history(house, week, end_ms)),
        (f"house: {len(house)} channels' month (<= 1000 points)", lambda: reader.history(house, days, end_ms)),
        (f"house: {len(house)} channels' daily energy, 30 days", lambda: reader.daily_energy(house, 30, end_ms - 1, TZ)),
        ("house: the same in Asia/Kolkata (+5:30: hours)", lambda: reader.daily_energy(house, 30, end_ms - 1, "Asia/Kolkata")),
        ("every device's days in Asia/Kolkata (hours)", lambda: reader.point_energy(None, 30, end_ms - 1, "Asia/Kolkata")),
        *(
            (f"house view of every device: its {name} ({CENTRAL_ROWS:,} rows)",
             lambda start=start: reader.history(None, start, end_ms, 1000, CENTRAL_ROWS, False))
            for name, start in (("day", day), ("week", week), ("month", days))
        ),
    ]  # fmt: skip
    results = []
    for name, call in plan:
        first, wall, client, cpu, df = timed(call, server)
        results.append((name, len(df), first, wall, client, cpu))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[20, 50, 100, 200])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--volume", choices=["channel", "device"], default="channel")
    parser.add_argument("--buffer-pool", default="1G")
    parser.add_argument(
        "--written",
        type=int,
        default=None,
        help="devices sent through the exporter's path; later ones are server-side copies",
    )
    parser.add_argument(
        "--minutes-for",
        type=int,
        default=None,
        help="devices with minutes (ChannelMinute, VolumeData); later ones: the summaries only",
    )
    args = parser.parse_args()
    total_minutes = args.days * 1440
    end_ms = int(END.timestamp() * 1000)
    start_ms = end_ms - total_minutes * MINUTE_MS
    options = [f"--innodb-buffer-pool-size={args.buffer_pool}", "--innodb-log-file-size=256M"]
    with tempfile.TemporaryDirectory(prefix="corcypower-fleet-") as tmp:
        server = MariaDB(Path(tmp) / "mariadb", options=options).start()
        try:
            database = server.create_database("fleet")
            settings = ExportSettings(server.host, server.port, database, USER, PASSWORD,
                                      read_timeout=600, write_timeout=600)  # fmt: skip
            (version,) = server.query("mysql", "SELECT VERSION()")[0]
            print(
                f"MariaDB {version}, buffer pool {args.buffer_pool}; {len(CHANNELS)} channels, "
                f"{args.days} days of minutes per device, VolumeData point per {args.volume}, "
                f"{args.workers} writing connections; load average at start "
                f"{open('/proc/loadavg').read().split()[0]}",
                flush=True,
            )
            init = Central(settings)
            init.init(ZoneInfo(TZ))  # ChannelDay counts the fleet's own days
            init.close()
            done = 0
            written = args.written or max(args.devices)
            for target in args.devices:
                new = list(range(done, min(target, written)))
                cpu = server.cpu_seconds()
                sent, seconds = in_parallel(
                    ingest, args.workers, new, settings, total_minutes, start_ms, args.volume
                )
                cpu = server.cpu_seconds() - cpu
                copied = list(range(max(done, written), target))
                made, copy_s = copies(
                    server, database, settings, copied, written, args.minutes_for or target
                )
                done = target
                report(server, database, settings, args, target, (sent, seconds, cpu), start_ms)
                if copied:
                    print(
                        f"   (devices {copied[0]}-{copied[-1]}: copies of devices 0-{written - 1} "
                        f"made by the server, not through the exporter: {made:,} ChannelMinute "
                        f"rows in {copy_s:,.0f} s with the summaries' rows, the triggers off)",
                        flush=True,
                    )
        finally:
            server.remove()


def in_parallel(work, workers: int, devices: list[int], *args) -> tuple[int, float]:
    """work((*args[:1], devices of a worker, *args[1:])) in `workers` processes: (the sum of
    what they return, seconds)."""
    jobs = [
        (args[0], devices[w::workers], *args[1:]) for w in range(workers) if devices[w::workers]
    ]
    if not jobs:
        return 0, 0.0
    t0 = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        total = sum(pool.map(work, jobs))
    return total, time.perf_counter() - t0


def report(server, database, settings, args, devices, ingested, start_ms) -> None:
    sent, seconds, cpu = ingested
    load = open("/proc/loadavg").read().split()[0]
    total_minutes = args.days * 1440
    extra = total_minutes + args.devices.index(devices)  # a minute not written before
    minute = fleet_minute(settings, devices, extra, start_ms, args.volume)
    rate = (  # the server's CPU time: what a core of its own would do, whatever the load
        f"{sent / seconds:,.0f} rows/s, the server's CPU {cpu:,.0f} s = "
        f"{sent / max(cpu, 0.01):,.0f} rows per CPU-second"
        if sent
        else "none sent"
    )
    print(
        f"\n== {devices} devices: +{sent:,} ChannelMinute rows through the exporter in "
        f"{seconds:,.0f} s = {rate}; a fleet minute ({devices} upserts of 4 rows): "
        f"{minute * 1000:,.0f} ms; load average {load}"
    )
    found = sizes(server, database)
    per_year = 0.0
    for table, (schema_bytes, file_bytes) in sorted(found.items()):
        holding = (
            devices
            if table not in ("ChannelMinute", "VolumeData")
            else min(devices, args.minutes_for or devices)
        )
        share = schema_bytes / (holding * args.days / 365.25)
        per_year += share
        print(
            f"   {table:18} {schema_bytes / 1e6:9,.1f} MB (.ibd {file_bytes / 1e6:9,.1f} MB): "
            f"{share / 1e6:7,.1f} MB per device-year ({holding} devices)"
        )
    total = sum(b for b, _ in found.values())
    files = sum(f for _, f in found.values())
    print(
        f"   {'all':18} {total / 1e6:9,.1f} MB (.ibd {files / 1e6:9,.1f} MB): "
        f"{per_year / 1e6:7,.1f} MB per device-year"
    )
    print(
        f"   {'query':55} {'rows':>6}  {'first':>8}  {'median':>8}  {'client CPU':>10}  {'server CPU':>10}"
    )
    end_ms = start_ms + total_minutes * MINUTE_MS
    with Reader(settings) as reader:
        for name, rows, first, wall, client, cpu in queries(reader, devices, end_ms, server):
            print(
                f"   {name:55} {rows:6}  {first * 1000:5,.0f} ms  {wall * 1000:5,.0f} ms  "
                f"{client * 1000:7,.0f} ms  {cpu * 1000:7,.0f} ms"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
