"""The page around the Bokeh document: viewport, title, favicon, CSS, and only the scripts used.

Without `<meta name="viewport">` a phone lays the page out 980 px wide and shrinks it to a
third; with it, the page is as wide as the phone. Bokeh's server page loads every BokehJS
bundle, MathJax (1.8 MB) included, because it cannot know what a session will use; the page
drops those its document does not need (see unused_bundles).

The first paint does not wait for BokehJS: its scripts are deferred (`defer`: fetched at once,
run after the HTML is parsed, in order, before Bokeh's own DOMContentLoaded embed), and the
page's HTML carries `first_paint`, the sections' numbers as plain HTML, made by the server
when the page was asked for (Page.first_paint). A phone shows it while it parses and runs
BokehJS (1.7 MB), and the page removes it once BokehJS has drawn the document.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from jinja2 import Environment

from corcypower.dashboard import cards

# a lightning bolt in the colour of import: an SVG inline, so no request
FAVICON = (
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'>"
    "<rect width='32' height='32' rx='7' fill='#d9480f'/>"
    "<path d='M18 3 7 18h7l-2 11 11-15h-7z' fill='white'/></svg>"
)

CSS = """
html, body { margin: 0; padding: 0; }
body { font-family: system-ui, sans-serif; -webkit-text-size-adjust: 100%; }
.corcypower { box-sizing: border-box; width: 100%; max-width: 1400px; margin: 0 auto;
              padding: 0 8px 24px; }
@media (min-width: 700px) { .corcypower { padding: 0 16px 24px; } }
.first-paint > div { margin: 4px 0; }
"""
# the cards' style (cards.STYLE, made for a Div's shadow root) for the page's own first paint
FIRST_PAINT_CSS = cards.STYLE.replace(":host", ".first-paint")
FIRST_PAINT_ID = "first-paint"
# once BokehJS has drawn the document, its numbers replace the server's
DROP_FIRST_PAINT = f"document.getElementById('{FIRST_PAINT_ID}')?.remove()"

TEXT = """{% extends base %}
{% block preamble %}
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="theme-color" content="#d9480f">
<link rel="icon" href="data:image/svg+xml,{{ favicon }}">
<style>{{ css }}{{ first_paint_css }}</style>
{% endblock %}
{% block js_resources %}{{ bokeh_js | without(unused_bundles) | deferred }}{% endblock %}
{% block contents %}
<div class="corcypower">
{% if first_paint %}<div class="first-paint" id="{{ first_paint_id }}">{{ first_paint }}</div>{% endif %}
{% for doc in docs %}{{ embed(doc) if doc.elementid }}{% for root in doc.roots %}{{ embed(root) }}{% endfor %}{% endfor %}
</div>
{% endblock %}
"""

BUNDLES = ("bokeh-mathjax", "bokeh-tables", "bokeh-gl")


def without(scripts: str, bundles: list[str]) -> str:
    """The script tags of `scripts` but those loading one of `bundles`."""
    for bundle in bundles:
        scripts = re.sub(
            rf"<script[^>]*/{re.escape(bundle)}(\.min)?\.js[^>]*></script>\s*", "", scripts
        )
    return scripts


def deferred(scripts: str) -> str:
    """The script tags of `scripts`, deferred: a file with `defer`, inline code as a module
    (inline scripts ignore `defer`; modules are deferred, and keep their place in the order)."""
    scripts = re.sub(r"<script(?![^>]*\bdefer\b)([^>]*\bsrc=)", r"<script defer\1", scripts)
    return re.sub(r"<script>", '<script type="module">', scripts)


_env = Environment(autoescape=False)
_env.filters["without"] = without
_env.filters["deferred"] = deferred
TEMPLATE = _env.from_string(TEXT)


def unused_bundles(doc, models: set = frozenset()) -> list[str]:
    """The optional BokehJS bundles no model of the document (or among `models`, which it
    will hold) needs, by Bokeh's own tests."""
    try:
        from bokeh.embed.bundle import _use_gl, _use_mathjax, _use_tables
    except ImportError:  # another Bokeh: keep everything rather than break the page
        return []
    models = set(doc.models) | set(models)
    uses = {"bokeh-mathjax": _use_mathjax, "bokeh-tables": _use_tables, "bokeh-gl": _use_gl}
    return [bundle for bundle in BUNDLES if not uses[bundle](models)]


def apply(doc, unused: list[str], first_paint: str = "") -> None:
    """Dress the document's page, without the BokehJS bundles `unused` (unused_bundles()),
    showing the HTML `first_paint` until BokehJS has drawn the document."""
    doc.template = TEMPLATE
    doc.template_variables.update(
        favicon=quote(FAVICON),
        css=CSS,
        unused_bundles=unused,
        first_paint=first_paint,
        first_paint_css=FIRST_PAINT_CSS if first_paint else "",
        first_paint_id=FIRST_PAINT_ID,
    )
