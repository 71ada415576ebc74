#!/usr/bin/env python3
"""History API benchmark: answer times of GET /api/v1/history for a day, a month and a year.

    corcypower simulate --config examples/emulator.toml --db year.db --days 365
    python bench/history_api.py --db year.db [--repeats R]

Starts `corcypower run` (examples/emulator.toml: the emulated MCP3208, three channels) on a
copy of that database, its state API on a free port, so the answers are the daemon's own
while it samples and writes. Then, over real HTTP, asks the history of every channel and of
one channel for 1 day, 30 days and 365 days ending at the simulated data's end, at the
default 1000 points and at 10000, R times each, interleaved so the machine's noise hits all
alike: median and max ms, the level chosen, buckets and bytes. Last, /api/v1/state answer
times alone and while another client asks a year of history in a loop (the history query
runs on its own thread: /state should not wait for it).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DAY_MS = 86_400_000
RANGES = {"1 day": DAY_MS, "30 days": 30 * DAY_MS, "365 days": 365 * DAY_MS}


def fetch(url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as answer:  # noqa: S310 (http only)
        body = answer.read()
    return time.perf_counter() - started, body


def start_daemon(db: Path, tmp: Path) -> tuple[subprocess.Popen, str, list[str]]:
    config = tmp / "config.toml"
    text = (REPO / "examples" / "emulator.toml").read_text()
    text = text.replace('path = "power-demo.db"', f'path = "{db}"')  # [store] path
    config.write_text(text + "\n[api]\nport = 0\n")
    daemon = subprocess.Popen(
        [sys.executable, str(REPO / "mcp_rms.py"), "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp,
    )
    output: list[str] = []
    while not (m := re.search(r"state API on (http://\S+)/api", "".join(output))):
        line = daemon.stderr.readline()
        if not line:
            sys.exit("the daemon exited:\n" + "".join(output))
        output.append(line)
    threading.Thread(target=lambda: output.extend(daemon.stderr), daemon=True).start()
    return daemon, m[1], output


def data_end(db: Path) -> int:
    """The simulated history's end (before the daemon adds to it)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT max(end_ms) FROM span").fetchone()[0]


def state_times(base: str, count: int) -> list[float]:
    times = []
    while len(times) < count:
        try:
            times.append(fetch(f"{base}/api/v1/state")[0])
        except OSError:  # 503 before the first batch
            time.sleep(0.2)
    return times


def summary(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    return f"{statistics.median(ms):7.1f} | {ms[-1]:7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a database made by `corcypower simulate`")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "power.db"
        shutil.copy(args.db, db)  # the daemon writes to it: leave the original as it was
        end = data_end(db)
        daemon, base, output = start_daemon(db, Path(tmp))
        try:
            state_times(base, 1)
            print(f"history ending {end} ms (the simulated data's end), {args.repeats} repeats")
            cases = [
                (
                    f"{name}, {who}, {points} points",
                    f"{query}start={end - span}&end={end}&points={points}",
                )
                for name, span in RANGES.items()
                for who, query in (("all 3 channels", ""), ("1 channel", "channel=main&"))
                for points in (1000, 10000)
            ]
            times: dict[str, list[float]] = {name: [] for name, _ in cases}
            shape: dict[str, str] = {}
            for _ in range(args.repeats):
                for name, query in cases:
                    took, body = fetch(f"{base}/api/v1/history?{query}")
                    times[name].append(took)
                    doc = json.loads(body)
                    buckets = sum(len(s["ts"]) for s in doc["series"])
                    shape[name] = f"{doc['level']:>4} | {buckets:6} | {len(body) / 1000:7.0f}"
            print("| range, channels, points | p50 ms | max ms | level | buckets | kB |")
            print("|---|---|---|---|---|---|")
            for name, _ in cases:
                print(f"| {name} | {summary(times[name])} | {shape[name]} |")

            alone = state_times(base, args.repeats * 5)
            stop = threading.Event()
            year = f"{base}/api/v1/history?start={end - 365 * DAY_MS}&end={end}&points=10000"
            asked = []

            def hammer():
                while not stop.is_set():
                    asked.append(fetch(year)[0])

            client = threading.Thread(target=hammer)
            client.start()
            while not asked:  # one year answered: the loop is under way
                time.sleep(0.05)
            busy = state_times(base, args.repeats * 5)
            stop.set()
            client.join()
            print("| /api/v1/state | p50 ms | max ms |")
            print("|---|---|---|")
            print(f"| alone | {summary(alone)} |")
            print(
                f"| while a year of history is asked in a loop ({len(asked)} answered) | {summary(busy)} |"
            )
        finally:
            daemon.terminate()
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
    text = "".join(output)
    print(f"tracebacks in the daemon's output: {text.count('Traceback')}")


if __name__ == "__main__":
    main()
