"""One browser tab: a list of sections under a title, fed by the shared poller and the database.

Live rows arrive on the poller's thread and are handed to the tab's document with
add_next_tick_callback (the one thread-safe way into a Bokeh document); each section
prepares what they change once for every tab (Dashboard.once) and shows it in its own
models. Queries run on the Dashboard's threads (run), their results drawn on the next tick.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from functools import partial
from html import escape

from bokeh.events import DocumentReady
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, CustomJS, Div, InlineStyleSheet

from corcypower.dashboard import cards, template, touch
from corcypower.dashboard.app import Dashboard, QueryFailed, shared
from corcypower.dashboard.section import Section
from corcypower.dashboard.sections.alerts import AlertsSection
from corcypower.dashboard.sections.energy import EnergySection
from corcypower.dashboard.sections.health import HealthSection
from corcypower.dashboard.sections.history import HistorySection
from corcypower.dashboard.sections.house import HouseSection
from corcypower.dashboard.sections.live import LiveSection
from corcypower.dashboard.sections.phases import PhasesSection

REDRAW_JS = """
const view = Bokeh.index.find_one(div)
if (view == null)
  return
const box = view.shadow_el.querySelector(selector)
if (box != null)
  box.outerHTML = source.data.html[0]
"""

# The page, top to bottom. A new section goes here (see section.py).
SECTIONS: tuple[type[Section], ...] = (
    LiveSection,
    HouseSection,
    PhasesSection,
    AlertsSection,
    EnergySection,
    HistorySection,
    HealthSection,
)

TICK_MS = 1000  # how often a tab checks that data still arrives
REST_AFTER_MS = 5000  # the rest of the page, if the browser has not said it drew the first part

# a file made on the server (download()) is handed to the browser as a Blob
SAVE_JS = """
const name = source.data.name[0]
if (name == null)
  return
const url = URL.createObjectURL(new Blob([source.data.text[0]], {type: "text/csv"}))
const a = document.createElement("a")
a.href = url
a.download = name
document.body.appendChild(a)
a.click()
a.remove()
setTimeout(() => URL.revokeObjectURL(url), 60000)
"""


class Page:
    """The dashboard in one tab."""

    def __init__(self, app: Dashboard, doc, sections: tuple[type[Section], ...] = SECTIONS):
        self.app, self.doc = app, doc
        self.view, self.tz = app.view, app.tz
        self.last_ts = 0
        self.banner = self.div("banner", visible=False)
        self.saved = ColumnDataSource({"name": [], "text": []}, name="download")
        self.saved.js_on_change("data", CustomJS(args={"source": self.saved}, code=SAVE_JS))
        self.sections = [cls(self) for cls in sections if cls.wanted(app)]
        host = escape(socket.gethostname())
        doc.title = f"CorcyPower · {socket.gethostname()}"
        title = self.div("title", f"<h2>CorcyPower · {host}</h2>")
        # The browser gets the first section alone, the others once it has drawn it: building
        # a few hundred models takes the server a while, drawing them a slow phone seconds,
        # and the live numbers come first. (The first page a server makes is built whole, to
        # learn which BokehJS bundles the page needs: every page then loads just those.)
        self.parts = [self._part(self.sections[0])]
        self.root = column(
            self.banner, title, self.parts[0], sizing_mode="stretch_width", name="page"
        )
        doc.add_root(self.root)
        doc.add_root(self.saved)
        whole = doc.session_context is None  # a document built without a server
        self.completed = False
        if whole or app.unused_bundles is None:
            self._build_the_rest()
            models = {m for part in self.parts for m in part.references()}
            app.unused_bundles = template.unused_bundles(doc, models)
        touch.for_fingers(doc, self.root)

        self.subscriber = self._from_poller
        self.on_batches(app.poller.subscribe(self.subscriber))
        doc.on_session_destroyed(lambda context: app.poller.unsubscribe(self.subscriber))
        doc.add_periodic_callback(self.tick, TICK_MS)
        self.tick()
        template.apply(doc, app.unused_bundles, self.first_paint(title.text))
        doc.js_on_event("document_ready", CustomJS(code=template.DROP_FIRST_PAINT))
        self.sections[0].start()
        self.complete = False
        if whole:
            self.add_the_rest()
        else:
            doc.on_event(DocumentReady, lambda event: self.add_the_rest())
            doc.add_timeout_callback(self.add_the_rest, REST_AFTER_MS)  # a client that never says

    def _part(self, section: Section):
        return column(section.layout(), name=section.name, sizing_mode="stretch_width")

    def _build_the_rest(self) -> None:
        if not self.completed:  # the first section's models it left out, first
            self.completed = True
            self.sections[0].complete()
        self.parts += [self._part(s) for s in self.sections[len(self.parts) :]]

    def first_paint(self, title: str) -> str:
        """The title and what the sections built show now, as the page's HTML (the server's
        first paint, before BokehJS); nothing if no section has anything to show yet."""
        shown = [html for s in self.built if (html := s.first_paint())]
        if not shown:
            return ""
        return "".join(f'<div class="bk-clearfix">{html}</div>' for html in [title, *shown])

    @property
    def built(self) -> list[Section]:
        """The sections whose models exist (the first, until the rest is added)."""
        return self.sections[: len(self.parts)]

    def add_the_rest(self) -> None:
        """The sections after the first, built if need be, into the page (once)."""
        if self.complete:
            return
        self.complete = True
        added = self.sections[len(self.parts) :]
        self._build_the_rest()
        self.root.children = [*self.root.children, *self.parts[1:]]
        latest = self.app.poller.latest()
        for section in self.sections[1:]:
            # the batch the cards show already: else a section added now (the phase balance,
            # the diagnostics) would show "–" until the next one
            prepared = section.prepare([latest]) if latest and section in added else None
            if prepared is not None:
                section.show(prepared)
            section.start()

    def section(self, name: str) -> Section:
        """The section of that name (Section.name)."""
        return next(s for s in self.sections if s.name == name)

    # --- for sections ---------------------------------------------------------------

    def div(self, name: str, text: str = "", **kwargs) -> Div:
        """A full-width Div with the page's style (Bokeh draws it in a shadow root)."""
        css = InlineStyleSheet(css=cards.STYLE)
        # no side margins (the text has padding): a full-width Div with margins is wider than a phone
        kwargs = {"sizing_mode": "stretch_width", "margin": (4, 0, 4, 0)} | kwargs
        return Div(text=text, name=name, stylesheets=[css], disable_math=True, **kwargs)

    def redrawn_div(
        self, name: str, box: str, html: str, css: str, heading: str = ""
    ) -> tuple[Div, ColumnDataSource]:
        """A full-width Div (`heading` + `html`) and the source that redraws it: setting the
        source's html[0] replaces the Div's element of class `box` in the browser, in place
        (REDRAW_JS), so the heading and the Div's box are not rebuilt with each change."""
        parts = ColumnDataSource({"html": [html]}, name=f"{name}_parts")
        div = self.div(name, heading + html)
        div.stylesheets = [*div.stylesheets, InlineStyleSheet(css=css)]
        # drawn by no glyph: the source travels with the Div (a root added once the page is
        # shown would keep BokehJS's document from ever being idle: it has no view)
        div.tags = [parts]
        args = {"div": div, "source": parts, "selector": f".{box}"}
        parts.js_on_change("data", CustomJS(args=args, code=REDRAW_JS))
        return div, parts

    def now_ms(self) -> int:
        return self.app.clock.wall_ms()

    def run(self, fn: Callable, show: Callable) -> None:
        """fn(db) on a query thread, then show(result) in this tab's document (a QueryFailed,
        a text saying why, if the database could not be read)."""
        future = self.app.query(fn)
        if self.app.executor is None:
            show(future.result())
        else:
            future.add_done_callback(
                lambda f: self.doc.add_next_tick_callback(partial(show, f.result()))
            )

    def download(self, name: str, make: Callable, failed: Callable[[str], None]) -> None:
        """Save make(db) (text) in the browser as a file called `name`; failed(why) if not."""

        def save(result) -> None:
            if isinstance(result, QueryFailed):
                failed(result)
            else:
                self.saved.data = {"name": [name], "text": [result]}

        self.run(make, save)

    # --- live -----------------------------------------------------------------------

    def _from_poller(self, batches: list[dict]) -> None:
        """On the poller's thread: queue the batches for this tab's document."""
        self.doc.add_next_tick_callback(partial(self.on_batches, batches))

    def on_batches(self, batches: list[dict]) -> None:
        new = [b for b in batches if b["ts"] > self.last_ts]
        if not new:
            return
        # every tab gets the same batches together: prepare them once for all of them
        whole = len(new) == len(batches)
        for section in self.built:
            if whole:
                prepared = self.app.once(batches, section.name, section.prepare)
            else:
                prepared = section.prepare(new)
            if prepared is not None:
                section.show(prepared)
        self.last_ts = new[-1]["ts"]
        if self.banner.visible:
            self.banner.visible = False

    def tick(self) -> None:
        poller = self.app.poller
        seconds = poller.seconds_since_data()
        text = cards.banner_text(seconds, self.view.stale_s, poller.error, self.app.state_url)
        if text:
            self.banner.text = f'<div class="banner">{text}</div>'
        if self.banner.visible != bool(text):
            self.banner.visible = bool(text)
        for section in self.built:
            section.tick(seconds)


def make_document(doc, dashboard: Dashboard | None = None) -> Page:
    """Build one tab's page (a Bokeh FunctionHandler's function)."""
    return Page(dashboard or shared(), doc)
