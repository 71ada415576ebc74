"""Dashboard benchmarks: bytes on the wire, first render, end-to-end latency, server CPU.

    python bench/dashboard.py wire [--days 2 | --db F]   # bytes of a first load and a reload
    python bench/dashboard.py render [--days 2 | --db F] # first live number, whole page drawn
    python bench/dashboard.py latency [--updates 80]     # batch end -> value in the browser
    python bench/dashboard.py cpu [--sessions 1,5,20] [--seconds 30] [--clients bokeh,chromium]
    python bench/dashboard.py all                        # the four, for docs/dashboard.md

Everything runs as users run it: `corcypower run` on the emulated chip and `corcypower
dashboard` as two processes, pages in Debian's headless Chromium (Playwright). Run it with a
checkout's own venv: the processes are `sys.executable -m corcypower`, so
`/work/main/.venv/bin/python bench/dashboard.py ...` measures main's code with this bench.

wire: a first load of the page on a phone (390 px) and a reload, counted at the TCP level by
    a proxy between the browser and the dashboard: HTTP (gzip) and the websocket, both ways.
render: from the start of navigation to
    - the first live number (server HTML): the total's number in the page's HTML, the
      latest batch the server had when the page was asked for, painted (Element Timing,
      `elementtiming="first-number"`); "not in every page's HTML" if a page came without
      (the server had no batch yet, or a page from before this existed);
    - the first number drawn by BokehJS: the total's card in the `numbers` Div showing watts;
    - the whole page drawn (live, history, energy, alerts; Bokeh idle),
    on the desktop (1366 px), and on a phone (390 px, touch, device scale 3) with the CPU
    slowed 4x (CDP Emulation.setCPUThrottlingRate). Median of --runs fresh tabs each (the
    server's first page is built whole, to learn the bundles: the first run is slower).
latency: in the page, every stream into the `live` source is timed against its `ts` (the
    batch's end, ms UTC, by the same machine's clock): p50, p95, max over the updates.
cpu: the dashboard process's CPU time (utime + stime from /proc) over --seconds with no
    session, then with N sessions open, as a share of one core, and per session over the
    idle figure; the daemon's too, for scale, in the same run. Sessions are
    - bokeh (default): bokeh.client websockets in this process (BokehClients). The server
      does for one what it does for a tab: builds the page, subscribes it to the poller,
      and sends it every batch as PATCH-DOC messages, which the client reads and counts
      without applying them (the PATCH-DOC messages per second each are printed). Not measured: what a tab alone
      makes the server do: the DocumentReady a browser sends (a client gets the rest of the
      page after REST_AFTER_MS instead) and the few changes a tab sends back (ranges, sizes).
      20 of them cost the client machine little, where 20 Chromium tabs do not finish
      opening on 2 cores;
    - chromium: tabs, as before; `--clients bokeh,chromium --sessions 1,5` runs both in one
      run, to check that the server's CPU per session agrees.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.dashboard.browser import DRAWN, context, launch, require_browser  # noqa: E402
from tests.dashboard.helpers import free_port  # noqa: E402
from tests.dashboard.processes import corcypower, write_config  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
WAIT_MS = 300_000  # a throttled phone on a loaded machine is slow: bounded, but generous
REST_S = 8.0  # past the page's REST_AFTER_MS: a session without DocumentReady is whole by then
TIMER = """() => { window.latencies = []; const s = Bokeh.documents[0].get_model_by_name('live');
  s.streaming.connect(() => { const ts = s.data.ts; window.latencies.push(Date.now() - ts[ts.length - 1]) }) }"""
# when the total's card drawn by BokehJS first shows a number, in ms since the navigation
# started; and when the server's numbers in the page's HTML were painted (Element Timing)
FIRST_NUMBER = """(() => { const look = () => {
  try { const d = window.Bokeh && Bokeh.documents[0]; const m = d && d.get_model_by_name('numbers');
    const v = m && Bokeh.index.find_one(m); const big = v && v.shadow_el.querySelector('.card.total .big');
    if (big && /[0-9]/.test(big.textContent)) { window.firstNumber = performance.now(); return } } catch (e) {}
  requestAnimationFrame(look) }; requestAnimationFrame(look) })();
// when the server's HTML numbers (the page's first paint) were painted: Element Timing
new PerformanceObserver(list => { for (const e of list.getEntries())
  if (e.identifier == 'first-number' && window.serverNumber == null) window.serverNumber = e.renderTime || e.loadTime
}).observe({type: 'element', buffered: true});"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


class Stack:
    """The daemon and the dashboard on a temporary config; optionally an existing power.db."""

    def __init__(self, db: Path | None = None, proxy_port: int | None = None):
        self.tmp = Path(tempfile.mkdtemp(prefix="corcypower-bench-"))
        config, _, port = write_config(self.tmp, stale=5.0)
        text = config.read_text()
        if db is not None:
            text = text.replace(str(self.tmp / "power.db"), str(db.resolve()))
        if proxy_port is not None:  # the page as the proxy serves it is another origin
            origin = f'allow_websocket_origin = ["localhost:{proxy_port}"]\n'
            text = text.replace("[dashboard]\n", "[dashboard]\n" + origin)
        config.write_text(text)
        self.port = port
        self.daemon = corcypower("run", "--config", str(config), cwd=self.tmp)
        self.dashboard = None
        try:  # a loaded machine starts slowly: wait as long as for a page
            self.daemon.wait_for("sampling 3 channels", WAIT_MS / 1000)
            self.dashboard = corcypower("dashboard", "--config", str(config), cwd=self.tmp)
            pattern = r"CorcyPower dashboard: (http://\S+)"
            self.url = self.dashboard.wait_for(pattern, WAIT_MS / 1000).group(1)
        except BaseException:
            self.stop()  # nothing left running, holding power.db
            raise

    def stop(self) -> None:
        if self.dashboard is not None:
            self.dashboard.stop()
        self.daemon.stop()


class CountingProxy:
    """A TCP proxy on `port` to `target`, counting the bytes that pass each way."""

    def __init__(self, port: int, target: int):
        self.port, self.target = port, target
        self.down = self.up = 0  # server -> browser, browser -> server
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        started.wait(30)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.port)
        )
        started.set()
        self.loop.run_until_complete(server.serve_forever())

    async def _client(self, reader, writer) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)

        async def pipe(src, dst, downstream: bool) -> None:
            try:
                while chunk := await src.read(65536):
                    if downstream:
                        self.down += len(chunk)
                    else:
                        self.up += len(chunk)
                    dst.write(chunk)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True))

    def reset(self) -> None:
        self.down = self.up = 0


@dataclass
class Times:
    """Seconds from the start of navigation to: the server's HTML numbers painted, the first
    number drawn by BokehJS, the whole page drawn."""

    server: float | None
    bokeh: float
    drawn: float


def open_tab(browser, url: str, width: int = 1366, throttle: float = 1.0):
    """A fresh tab (its own context: nothing cached) once the page is drawn; and its times."""
    ctx = context(browser, width)
    ctx.set_default_timeout(WAIT_MS)
    page = ctx.new_page()
    if throttle > 1:
        cdp = ctx.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    page.add_init_script(FIRST_NUMBER)
    page.goto(url)
    page.wait_for_function("() => window.firstNumber != null", polling=50)
    first = page.evaluate("window.firstNumber") / 1000
    page.wait_for_function(DRAWN, polling=50)
    drawn = page.evaluate("performance.now()") / 1000
    server = page.evaluate("window.serverNumber")  # None: the page came without numbers
    return page, Times(None if server is None else server / 1000, first, drawn)


def wire(args) -> None:
    from playwright.sync_api import sync_playwright

    proxy_port = free_port()
    stack = Stack(history(args), proxy_port=proxy_port)
    proxy = CountingProxy(proxy_port, stack.port)
    try:
        with sync_playwright() as p:
            browser = launch(p)
            page, _ = open_tab(browser, f"http://localhost:{proxy_port}/", width=390)
            first = (proxy.down, proxy.up)
            proxy.reset()
            page.reload()
            page.wait_for_function(DRAWN, polling=50)
            again = (proxy.down, proxy.up)
            browser.close()
    finally:
        stack.stop()
    print("bytes on the wire, a phone (390 px) opening the page, counted by a TCP proxy:")
    print(
        f"  first load: {first[0] / 1e6:.3f} MB received, {first[1] / 1e6:.3f} MB sent   (target <= 1.5 MB)"
    )
    print(
        f"  reload (BokehJS cached): {again[0] / 1e6:.3f} MB received, {again[1] / 1e6:.3f} MB sent"
    )


def render(args) -> None:
    from playwright.sync_api import sync_playwright

    db = history(args)
    stack = Stack(db)
    try:
        with sync_playwright() as p:
            browser = launch(p)
            for label, width, throttle, target in (
                ("desktop (1366 px)", 1366, 1.0, 1.5),
                ("phone (390 px), CPU 4x slower", 390, 4.0, 4.0),
            ):
                runs = []
                for _ in range(args.runs):
                    page, times = open_tab(browser, stack.url, width, throttle)
                    runs.append(times)
                    page.context.close()
                print(f"first render, {label}, {args.runs} fresh tabs:")
                for what, key, goal in (
                    ("first live number (server HTML)", "server", f"   (target <= {target:g} s)"),
                    ("first number drawn by BokehJS", "bokeh", ""),
                    ("whole page drawn", "drawn", ""),
                ):
                    seconds = [getattr(t, key) for t in runs]
                    if None in seconds:
                        print(f"  {what}: not in every page's HTML {seconds}")
                        continue
                    print(
                        f"  {what + ':':<33} median {statistics.median(seconds):.2f} s "
                        f"{[round(t, 2) for t in seconds]}{goal}"
                    )
            browser.close()
    finally:
        stack.stop()
    if db is not None:
        print(f"  over {db} ({db.stat().st_size / 1e6:.0f} MB)")


def latency(args) -> None:
    from playwright.sync_api import sync_playwright

    stack = Stack()
    try:
        with sync_playwright() as p:
            browser = launch(p)
            page, _ = open_tab(browser, stack.url)
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


class BokehClients:
    """Sessions opened by bokeh.client, each a websocket like a tab's, in this process.

    pull_session() asks the server for a new session, as a tab does: the server builds the
    page (make_document), sends it, subscribes it to the poller and streams every batch into
    it as PATCH-DOC messages, which each client reads off its socket and counts (`patches`),
    without applying them to a copy of the document: bokeh.client's own loop awaits itself
    once per message and overflows the stack after a few hundred. Unlike a tab, a client
    sends no DocumentReady (the page adds its other sections after REST_AFTER_MS instead),
    runs no JS callbacks and sends nothing back (a tab sends little: ranges and sizes it
    computes, on changes)."""

    def __init__(self, url: str):
        self.url = url
        self.sessions: list = []
        self.patches = 0

    def open(self) -> None:
        from bokeh.client import pull_session

        opened = threading.Event()

        def run() -> None:
            session = pull_session(url=self.url)  # connects and pulls, on its own IOLoop
            self.sessions.append(session)
            opened.set()
            connection = session._connection

            async def receive() -> None:  # every message until the socket closes
                while (message := await connection._pop_message()) is not None:
                    self.patches += message.msgtype == "PATCH-DOC"

            connection.io_loop.run_sync(receive)

        threading.Thread(target=run, daemon=True).start()
        if not opened.wait(WAIT_MS / 1000):
            raise TimeoutError(f"a bokeh.client session to {self.url} did not open")

    def close(self) -> None:
        for session in self.sessions:
            session._connection.io_loop.add_callback(session.close)
        self.sessions.clear()


def cpu(args) -> None:
    from playwright.sync_api import sync_playwright

    stack = Stack()
    pids = (stack.dashboard.proc.pid, stack.daemon.proc.pid)

    def measure() -> list[float]:
        """The dashboard's and the daemon's CPU over --seconds, % of one core."""
        before = [cpu_seconds(pid) for pid in pids]
        t0 = time.monotonic()
        time.sleep(args.seconds)
        wall = time.monotonic() - t0
        return [(cpu_seconds(pid) - b) / wall * 100 for pid, b in zip(pids, before, strict=True)]

    try:
        with sync_playwright() as p:
            browser = launch(p) if "chromium" in args.clients else None
            print(f"CPU over {args.seconds:g} s, as % of one core (load {load()}):")
            time.sleep(REST_S)
            idle = measure()
            print(f"    0 sessions: dashboard {idle[0]:5.1f} %   daemon {idle[1]:5.1f} %")
            for kind in args.clients.split(","):
                tabs, clients = [], BokehClients(stack.url)
                for n in [int(x) for x in args.sessions.split(",")]:
                    while len(tabs) + len(clients.sessions) < n:
                        if kind == "chromium":
                            tabs.append(open_tab(browser, stack.url)[0])
                        else:
                            clients.open()
                    time.sleep(REST_S)  # every session's page whole (REST_AFTER_MS), settled
                    patches = clients.patches
                    used = measure()
                    each = (used[0] - idle[0]) / n
                    got = (
                        f"   {(clients.patches - patches) / n / args.seconds:.1f} patches/s each"
                        if kind == "bokeh"
                        else ""
                    )
                    print(
                        f"  {n:>3} {kind} sessions: dashboard {used[0]:5.1f} % "
                        f"({each:4.2f} % each over idle)   daemon {used[1]:5.1f} %{got}"
                        f"   (load {load()})"
                    )
                for tab in tabs:
                    tab.context.close()
                clients.close()
                time.sleep(REST_S)
            if browser is not None:
                browser.close()
    finally:
        stack.stop()
    print("  (target: dashboard <= 30 % of one core at 20 sessions)")


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def history(args) -> Path:
    """--db, made with --days of the emulated household if it does not exist (once per run)."""
    if getattr(args, "made", None) is None:
        db = Path(args.db) if args.db else None
        args.made = db if db is not None and db.exists() else make_history(db, args.days)
    return args.made


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    history_options = argparse.ArgumentParser(add_help=False)
    history_options.add_argument("--db", help="a power.db to draw (made with --days if absent)")
    history_options.add_argument("--days", type=float, default=2.0, help="days to simulate")
    sub.add_parser("wire", parents=[history_options])
    p = sub.add_parser("render", parents=[history_options])
    p.add_argument("--runs", type=int, default=3)
    p = sub.add_parser("latency")
    p.add_argument("--updates", type=int, default=80)
    p = sub.add_parser("cpu")
    p.add_argument("--sessions", default="1,5,20")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument(
        "--clients",
        default="bokeh",
        help="bokeh (bokeh.client websockets), chromium (tabs), or both: bokeh,chromium",
    )
    p = sub.add_parser("all", parents=[history_options])
    p.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    require_browser_or_exit()
    if args.what == "all":
        args.updates, args.sessions, args.seconds, args.clients = 80, "1,5,20", 30.0, "bokeh"
        for bench in (wire, render, latency, cpu):
            bench(args)
        return
    {"wire": wire, "render": render, "latency": latency, "cpu": cpu}[args.what](args)


def require_browser_or_exit() -> None:
    try:
        require_browser()
    except BaseException as exc:  # pytest's skip outside pytest
        sys.exit(f"cannot run: {exc}")


if __name__ == "__main__":
    main()
