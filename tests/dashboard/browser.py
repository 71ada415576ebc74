"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright: never a downloaded browser.

Also what the tests, the benchmark and the screenshot script measure in a page: phones as
Chromium emulates them, and the layout as drawn (overflow, text sizes, label boxes).
"""

from __future__ import annotations

import shutil

from tests.helpers import skip_unless

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# the longest any page waits for anything: a machine loaded 15 times over its cores is slow
# (a phone's page drawn in minutes), never stuck
WAIT_MS = 240_000
PHONE_WIDTHS = (360, 390, 412)
DESKTOP_WIDTH = 1366


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright):
    """A fresh headless Chromium (a temporary profile, removed on close)."""
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
    )


def context(browser, width: int, height: int = 844, scale: float | None = None):
    """A browser context as wide as `width` CSS px: a phone (touch, device scale 3) below
    800 px, a desktop above. Every wait in it times out after WAIT_MS."""
    phone = width < 800
    ctx = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=scale or (3 if phone else 1),
        is_mobile=phone,
        has_touch=phone,
    )
    ctx.set_default_timeout(WAIT_MS)
    return ctx


def new_tab(browser, width: int, url: str):
    """A tab `width` CSS px wide at `url`: its console errors in page.errors, the canvases'
    text recorded (CANVAS_TEXT)."""
    page = context(browser, width).new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.add_init_script(CANVAS_TEXT)
    page.goto(url)
    return page


def require_browser():
    """Playwright and Chromium, or a skip (a failure under CI=true)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_unless(False, "playwright is not installed (pip install -e '.[browser]')")
    skip_unless(chromium_path() is not None, "chromium is not installed (apt-get install chromium)")


# Reading the page's Bokeh document from the browser
LIVE_TS = "() => { const s = Bokeh.documents[0].get_model_by_name('live'); return s.data.ts.length ? s.data.ts[s.data.ts.length - 1] : 0 }"
MODEL = "(name) => Bokeh.documents[0].get_model_by_name(name)"


def drawn_when(sections: str) -> str:
    """A predicate: the page idle and every view finished, the live plot's source holding
    batches (it arrives after the numbers), and `sections` (JS, `text(name)` at hand) true."""
    return f"""() => {{ if (!window.Bokeh || !Bokeh.documents.length) return false;
  const d = Bokeh.documents[0]; const text = (n) => (d.get_model_by_name(n) || {{text: ""}}).text;
  const views = [...d.roots()].map(r => Bokeh.index.find_one(r)).filter(v => v != null);
  const live = d.get_model_by_name('live');
  return d.is_idle && live != null && live.data.ts.length > 0
    && {sections}
    && views.every(v => v.has_finished()) }}"""


# the page once everything has been drawn: numbers, the live plot, history, energy, alerts
DRAWN = drawn_when(
    "text('history_note').includes('points') && text('energy_summary').includes('measured')"
    " && /firing|cannot be read/.test(text('alerts'))"
)

# Everything the page draws on canvases, recorded as it is drawn: the text, its font and the
# box it covers (CSS px, relative to its canvas), by canvas and frame (a frame begins when
# the whole canvas is cleared). Bokeh draws tick labels, titles and legends this way.
CANVAS_TEXT = """
(() => {
  window.__texts = [];
  let canvases = 0;
  const proto = CanvasRenderingContext2D.prototype;
  const clear = proto.clearRect;
  proto.clearRect = function (x, y, w, h) {
    const c = this.canvas;
    if (c.__id == null) c.__id = ++canvases;
    if (x <= 0 && y <= 0 && w * this.getTransform().a >= c.width - 1) c.__frame = (c.__frame || 0) + 1;
    return clear.call(this, x, y, w, h);
  };
  const fill = proto.fillText;
  proto.fillText = function (text, x, y, ...rest) {
    const c = this.canvas;
    if (c.__id == null) c.__id = ++canvases;
    const m = this.measureText(text);
    const t = this.getTransform();
    const ratio = window.devicePixelRatio;
    const corners = [[x - m.actualBoundingBoxLeft, y - m.actualBoundingBoxAscent],
                     [x + m.actualBoundingBoxRight, y - m.actualBoundingBoxAscent],
                     [x - m.actualBoundingBoxLeft, y + m.actualBoundingBoxDescent],
                     [x + m.actualBoundingBoxRight, y + m.actualBoundingBoxDescent]]
      .map(([u, v]) => [(t.a * u + t.c * v + t.e) / ratio, (t.b * u + t.d * v + t.f) / ratio]);
    const xs = corners.map(p => p[0]), ys = corners.map(p => p[1]);
    const size = /([0-9.]+)px/.exec(this.font);
    if (String(text).trim() !== "")
      window.__texts.push({canvas: c.__id, frame: c.__frame || 0, text: String(text),
        px: size ? parseFloat(size[1]) : 0, font: this.font,
        box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]});
    return fill.call(this, text, x, y, ...rest);
  };
})();
"""

# The layout as drawn: overflow, the right edge of the rightmost element of the page's content
# (outside scrolling boxes, whose content may be wider: it scrolls), HTML text under `min_px`, canvas text under
# it, and pairs of canvas texts drawn over each other (in the newest frame of each canvas).
LAYOUT = """(min_px) => {
  const small = [];
  let right = 0;
  const edge = (el, clipped) => {
    const r = el.getBoundingClientRect();
    if (!clipped && r.width > 0 && r.height > 0) right = Math.max(right, r.right);
    const inner = clipped || getComputedStyle(el).overflowX != "visible";
    for (const child of [...el.children, ...(el.shadowRoot ? el.shadowRoot.children : [])])
      edge(child, inner);
  };
  for (const el of document.querySelector(".corcypower").children) edge(el, false);
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      const own = [...el.childNodes].some(n => n.nodeType == 3 && n.textContent.trim() != "");
      if (!own) continue;
      const r = el.getBoundingClientRect(), s = getComputedStyle(el);
      if (r.width == 0 || r.height == 0 || s.visibility == "hidden" || s.display == "none") continue;
      if (parseFloat(s.fontSize) < min_px) small.push([el.tagName, el.textContent.trim().slice(0, 40), s.fontSize]);
    }
  };
  walk(document);
  const texts = window.__texts || [];
  const newest = {};
  for (const t of texts) newest[t.canvas] = Math.max(newest[t.canvas] || 0, t.frame);
  const frame = texts.filter(t => t.frame == newest[t.canvas]);
  const seen = new Set(), drawn = [];
  for (const t of frame) {  // a frame may draw a text twice (a layer redrawn): keep one
    const key = t.canvas + "|" + t.text + "|" + t.box.map(Math.round).join(",");
    if (!seen.has(key)) { seen.add(key); drawn.push(t); }
  }
  for (const t of drawn) if (t.px < min_px) small.push(["canvas", t.text, t.font]);
  const overlaps = [];
  for (let i = 0; i < drawn.length; i++)
    for (let j = i + 1; j < drawn.length; j++) {
      const a = drawn[i], b = drawn[j];
      if (a.canvas != b.canvas) continue;
      const w = Math.min(a.box[2], b.box[2]) - Math.max(a.box[0], b.box[0]);
      const h = Math.min(a.box[3], b.box[3]) - Math.max(a.box[1], b.box[1]);
      if (w > 0.5 && h > 0.5) overlaps.push([a.text, b.text, a.box.map(Math.round), b.box.map(Math.round)]);
    }
  return {width: window.innerWidth, scroll_width: document.documentElement.scrollWidth, right,
          small, overlaps, canvas_texts: drawn.length};
}"""
