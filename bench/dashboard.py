"""Dashboard benchmarks: end-to-end latency, Bokeh server CPU per viewer, first render of a year.

    python bench/dashboard.py latency [--updates 80]       # batch end -> value in the browser's document
    python bench/dashboard.py cpu [--sessions 1,5,20] [--seconds 30]
    python bench/dashboard.py render --db YEAR.db          # a year of history (or --days N to make one)

Everything runs as users run it: `corcypower run` on the emulated chip and `corcypower
dashboard` as two processes, pages in Debian's headless Chromium (Playwright).

latency: in the page, every stream into the `live` source is timed against its `ts` (the
    batch's end, ms UTC, by the same machine's clock): p50, p95, max over the updates.
cpu: the dashboard process's CPU time (utime + stime from /proc) over --seconds while N tabs
    are open, as a share of one core; the daemon's too, for scale, in the same run.
render: a fresh tab until every plot has data and Bokeh reports the document idle, over a
    power.db holding a year (simulated through the store's write path), median of 3.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.dashboard.browser import LIVE_TS, launch, require_browser  # noqa: E402
from tests.dashboard.processes import corcypower, write_config  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
READY = "() => window.Bokeh && Bokeh.documents.length && Bokeh.documents[0].get_model_by_name('live') && ({live})() > 0"
FULL = """() => { const d = Bokeh.documents[0]; const n = (m) => d.get_model_by_name(m).data;
  return n('history_main').x.length > 0 && n('daily').day.length > 0 && d.is_idle }"""
TIMER = """() => { window.latencies = []; const s = Bokeh.documents[0].get_model_by_name('live');
  s.streaming.connect(() => { const ts = s.data.ts; window.latencies.push(Date.now() - ts[ts.length - 1]) }) }"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


class Stack:
    """The daemon and the dashboard on a temporary config; optionally an existing power.db."""

    def __init__(self, db: Path | None = None):
        self.tmp = Path(tempfile.mkdtemp(prefix="corcypower-bench-"))
        config, _, port = write_config(self.tmp, stale=5.0)
        if db is not None:
            text = config.read_text().replace(str(self.tmp / "power.db"), str(db.resolve()))
            config.write_text(text)
        self.daemon = corcypower("run", "--config", str(config), cwd=self.tmp)
        self.daemon.wait_for("sampling 3 channels")
        self.dashboard = corcypower("dashboard", "--config", str(config), cwd=self.tmp)
        self.url = self.dashboard.wait_for(r"CorcyPower dashboard: (http://\S+)").group(1)

    def stop(self) -> None:
        self.dashboard.stop()
        self.daemon.stop()


def open_tab(browser, url: str):
    page = browser.new_page()
    page.goto(url)
    page.wait_for_function(READY.format(live=LIVE_TS), timeout=60_000)
    return page


def latency(args) -> None:
    from playwright.sync_api import sync_playwright

    stack = Stack()
    try:
        with sync_playwright() as p:
            browser = launch(p)
            page = open_tab(browser, stack.url)
            page.evaluate(TIMER)
            page.wait_for_function(
                f"() => window.latencies.length >= {args.updates}",
                timeout=args.updates * 2000,
                polling=500,
            )
            ms = sorted(page.evaluate("() => window.latencies"))
            browser.close()
    finally:
        stack.stop()
    q = statistics.quantiles(ms, n=100)
    print(f"latency, batch end -> browser document, {len(ms)} updates:")
    print(
        f"  p50 {q[49]:.0f} ms   p95 {q[94]:.0f} ms   max {ms[-1]:.0f} ms   (target p95 <= 1000 ms)"
    )


def cpu(args) -> None:
    from playwright.sync_api import sync_playwright

    stack = Stack()
    try:
        with sync_playwright() as p:
            browser = launch(p)
            tabs = []
            print(f"CPU over {args.seconds:g} s, as % of one core:")
            for n in [int(x) for x in args.sessions.split(",")]:
                while len(tabs) < n:
                    tabs.append(open_tab(browser, stack.url))
                time.sleep(3)  # let the new sessions settle
                pids = (stack.dashboard.proc.pid, stack.daemon.proc.pid)
                before = [cpu_seconds(pid) for pid in pids]
                t0 = time.monotonic()
                time.sleep(args.seconds)
                wall = time.monotonic() - t0
                used = [
                    (cpu_seconds(pid) - b) / wall * 100 for pid, b in zip(pids, before, strict=True)
                ]
                print(f"  {n:>3} sessions: dashboard {used[0]:5.1f} %   daemon {used[1]:5.1f} %")
            browser.close()
    finally:
        stack.stop()
    print("  (target: dashboard <= 30 % of one core at 20 sessions)")


def render(args) -> None:
    from playwright.sync_api import sync_playwright

    db = Path(args.db) if args.db else None
    if db is None or not db.exists():
        db = make_history(db, args.days)
    stack = Stack(db)
    try:
        with sync_playwright() as p:
            browser = launch(p)
            times, year = [], []
            for _ in range(3):
                page = browser.new_page()
                t0 = time.perf_counter()
                page.goto(stack.url)
                page.wait_for_function(READY.format(live=LIVE_TS), timeout=120_000)
                page.wait_for_function(FULL, timeout=120_000, polling=50)
                times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()  # then the whole year in the history plot
                page.get_by_role("button", name="year").click()
                page.wait_for_function(
                    "() => Bokeh.documents[0].get_model_by_name('history_plot').title.text.endsWith('year')"
                    " && Bokeh.documents[0].get_model_by_name('history_main').data.x.length > 300"
                    " && Bokeh.documents[0].is_idle",
                    timeout=120_000,
                    polling=50,
                )
                year.append(time.perf_counter() - t0)
                page.close()
            browser.close()
    finally:
        stack.stop()
    size = db.stat().st_size / 1e6
    print(f"first full render over {db} ({size:.0f} MB):")
    print(
        f"  page to every plot drawn: median {statistics.median(times):.2f} s  {[round(t, 2) for t in times]}"
    )
    print(f"  'year' button to the year drawn: median {statistics.median(year):.2f} s")


def make_history(path: Path | None, days: float) -> Path:
    from corcypower.store.database import Database
    from corcypower.store.simulate import simulate
    from tests.dashboard.helpers import config

    path = path or Path(tempfile.mkdtemp(prefix="corcypower-year-")) / "year.db"
    t0 = time.perf_counter()
    with Database(path) as db:
        rows = simulate(db, config(path), days)
    print(f"simulated {days:g} days into {path}: {rows} rows in {time.perf_counter() - t0:.0f} s")
    return path


def main() -> None:
    require = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = require.add_subparsers(dest="what", required=True)
    p = sub.add_parser("latency")
    p.add_argument("--updates", type=int, default=80)
    p = sub.add_parser("cpu")
    p.add_argument("--sessions", default="1,5,20")
    p.add_argument("--seconds", type=float, default=30.0)
    p = sub.add_parser("render")
    p.add_argument("--db", help="a power.db with a year of history (made with --days if absent)")
    p.add_argument("--days", type=float, default=365.0)
    args = require.parse_args()
    require_browser_or_exit()
    {"latency": latency, "cpu": cpu, "render": render}[args.what](args)


def require_browser_or_exit() -> None:
    try:
        require_browser()
    except BaseException as exc:  # pytest's skip outside pytest
        sys.exit(f"cannot run: {exc}")


if __name__ == "__main__":
    main()
