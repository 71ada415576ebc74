#!/usr/bin/env python3
"""MySQL export benchmark: catching up after an outage, into a local MariaDB.

    python bench/mysql_export.py [--days 1 3] [--batch-rows 1000]

For each outage length, a power.db gets that many days of the simulated household on three
current channels (and a voltage channel), through the store's own write path; a fresh
exporter process then sends the whole backlog to a throwaway MariaDB (started here, in a
temporary directory, with its default durability: a flush per commit). Reported:

- rows per second into MariaDB (ChannelMinute rows; VolumeData rows come on top), the
  target being >= 5,000, and the CPU time per 1000 rows of the exporter and of the server
  (which keeps ChannelQuarter, ChannelHour and ChannelDay by trigger): on a machine shared
  with other work the rate falls with its load, the CPU times much less;
- the exporter process's resident memory at start and its peak during the catch-up,
  sampled every 20 ms: bounded means the peak does not grow with the length of the outage;
- in the same run, each catch-up again into a database with the triggers CorcyPower made
  before the zone's offset was cached per session (looked up for every minute written):
  before and after, as a ratio;
- in the same run, the same rows sent the way EnergyMonitor did (a commit per row), for the
  ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from corcypower import settings  # noqa: E402
from corcypower.export import schema  # noqa: E402
from corcypower.export.config import from_config  # noqa: E402
from corcypower.export.exporter import Exporter  # noqa: E402
from corcypower.export.mysql import Central  # noqa: E402
from corcypower.store.database import Database  # noqa: E402
from corcypower.store.simulate import simulate  # noqa: E402
from tests.export.mariadb import PASSWORD, USER, MariaDB  # noqa: E402

CHANNELS = [
    {"name": "mains_v", "adc_channel": 1, "kind": "voltage", "scale": 0.25},
    {"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.02},
    {"name": "solar", "adc_channel": 2, "kind": "current", "scale": 0.02},
    {"name": "kettle", "adc_channel": 3, "kind": "current", "scale": 0.02},
]


def config_for(db: Path, server: MariaDB, database: str, batch_rows: int) -> settings.Config:
    return settings.from_dict(
        {
            "adc": {"chip": "emulated"},
            "emulator": {"circuits": {"main": "house", "solar": "solar", "kettle": "kettle"}},
            "store": {"path": str(db)},
            "export": {
                "mysql": {
                    "host": server.host,
                    "port": server.port,
                    "database": database,
                    "user": USER,
                    "password": PASSWORD,
                    "point": "bench",
                    "batch_rows": batch_rows,
                }
            },
            "channels": CHANNELS,
        }
    )


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child(args: dict) -> None:
    """Runs in its own process: one catch-up, timed, with its memory sampled."""
    config = settings.from_dict(args["config"])
    exporter = Exporter(from_config(config), config.db_path)
    start_kb = rss_kb()
    peak = [start_kb]
    done = threading.Event()

    def sample():
        while not done.wait(0.02):
            peak[0] = max(peak[0], rss_kb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0, cpu0 = time.perf_counter(), time.process_time()
    sent = exporter.run_once()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    done.set()
    sampler.join()
    peak[0] = max(peak[0], rss_kb())
    print(
        json.dumps(
            {"sent": sent, "seconds": seconds, "cpu": cpu, "start_kb": start_kb, "peak_kb": peak[0]}
        )
    )


def catch_up(base: Path, server: MariaDB, days: float, batch_rows: int, cached: bool) -> dict:
    """One catch-up of `days` days; `cached`: today's triggers, else the older ones."""
    database = server.create_database(f"bench_{str(days).replace('.', '_')}_{int(cached)}")
    db_path = base / f"power-{days}d.db"
    config = config_for(db_path, server, database, batch_rows)
    t0 = time.perf_counter()
    if not db_path.exists():  # the same power.db for both triggers
        with Database(db_path) as db:
            simulate(db, config, days)
    simulated = time.perf_counter() - t0
    Central(from_config(config)).init()
    if not cached:
        for older in schema.triggers(cache_offset=False).values():
            server.query(database, older.replace("CREATE", "CREATE OR REPLACE", 1), None)
    raw = {
        "adc": {"chip": "emulated"},
        "store": {"path": str(db_path)},
        "export": {"mysql": config_values(config)},
        "channels": CHANNELS,
    }
    server_cpu = server.cpu_seconds()
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps({"config": raw})],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["server_cpu"] = server.cpu_seconds() - server_cpu
    (channel_rows,) = server.query(database, "SELECT count(*) FROM ChannelMinute")[0]
    (volume_rows,) = server.query(database, "SELECT count(*) FROM VolumeData")[0]
    result |= {
        "days": days,
        "cached": cached,
        "simulated_s": simulated,
        "channel_rows": channel_rows,
        "volume_rows": volume_rows,
        "database": database,
        "config": config,
    }
    return result


def config_values(config: settings.Config) -> dict:
    prefix = "export.mysql."
    return {
        k[len(prefix) :]: v
        for k, v in config.values.items()
        if k.startswith(prefix) and v is not None and v != {}
    }


def row_at_a_time(server: MariaDB, config: settings.Config, rows: int) -> float:
    """Rows per second sent as EnergyMonitor did: one INSERT and one commit per row."""
    s = from_config(config)
    database = server.create_database("bench_per_row")
    central = Central(from_config(config_with_database(config, database)))
    central.init()
    from corcypower.export.outbox import Outbox
    from corcypower.export.tables import channel_records

    with Outbox(config.db_path, "per-row", s.channels, read_only=True) as box:
        minutes = box.next_chunk(-1, box.closed_until(), rows)
    records = channel_records(s.point, minutes)
    t0 = time.perf_counter()
    for record in records:
        central.write([record])
    seconds = time.perf_counter() - t0
    central.close()
    return len(records) / seconds


def config_with_database(config: settings.Config, database: str) -> settings.Config:
    values = dict(config.values)
    values["export.mysql.database"] = database
    return settings.Config(values, config.channels, config.source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, nargs="+", default=[1.0, 3.0])
    parser.add_argument("--batch-rows", type=int, default=1000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    with tempfile.TemporaryDirectory(prefix="corcypower-bench-") as tmp:
        base = Path(tmp)
        server = MariaDB(base / "mariadb").start()
        try:
            (version,) = server.query("mysql", "SELECT VERSION()")[0]
            print(
                f"MariaDB {version}, 3 current channels, batch_rows = {args.batch_rows}; load "
                f"average {Path('/proc/loadavg').read_text().split()[0]}"
            )
            results = [
                catch_up(base, server, d, args.batch_rows, cached)
                for d in args.days
                for cached in (False, True)
            ]
            for r in results:
                rate = r["channel_rows"] / r["seconds"]
                total = (r["channel_rows"] + r["volume_rows"]) / r["seconds"]
                triggers = "now" if r["cached"] else "older triggers (offset per minute)"
                print(
                    f"outage {r['days']:g} d, {triggers}: {r['channel_rows']} channel-minute rows "
                    f"(+ {r['volume_rows']} VolumeData) in {r['seconds']:.2f} s: "
                    f"{rate:,.0f} rows/s ({total:,.0f} with VolumeData); CPU per 1000 "
                    f"ChannelMinute rows: exporter {r['cpu'] / r['channel_rows'] * 1000:.2f} s, "
                    f"server {r['server_cpu'] / r['channel_rows'] * 1000:.2f} s; exporter RSS "
                    f"{r['start_kb'] / 1024:.1f} MB at start, peak {r['peak_kb'] / 1024:.1f} MB "
                    f"(+{(r['peak_kb'] - r['start_kb']) / 1024:.1f} MB)"
                )
            per_row = row_at_a_time(server, results[1]["config"], 500)
            best = results[1]["channel_rows"] / results[1]["seconds"]
            print(
                f"a commit per row (EnergyMonitor's way): {per_row:,.0f} rows/s; "
                f"batched is {best / per_row:.0f}x faster"
            )
        finally:
            server.remove()


if __name__ == "__main__":
    main()
