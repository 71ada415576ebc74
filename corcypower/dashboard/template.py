"""The page around the Bokeh document: viewport, title, favicon, CSS, and only the scripts used.

Without `<meta name="viewport">` a phone lays the page out 980 px wide and shrinks it to a
third; with it, the page is as wide as the phone. Bokeh's server page loads every BokehJS
bundle, MathJax (1.8 MB) included, because it cannot know what a session will use; the page
drops those its document does not need (see unused_bundles).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from jinja2 import Environment

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
"""

TEXT = """{% extends base %}
{% block preamble %}
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="theme-color" content="#d9480f">
<link rel="icon" href="data:image/svg+xml,{{ favicon }}">
<style>{{ css }}</style>
{% endblock %}
{% block js_resources %}{{ bokeh_js | without(unused_bundles) }}{% endblock %}
{% block contents %}
<div class="corcypower">
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


_env = Environment(autoescape=False)
_env.filters["without"] = without
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


def apply(doc, unused: list[str]) -> None:
    """Dress the document's page, without the BokehJS bundles `unused` (unused_bundles())."""
    doc.template = TEMPLATE
    doc.template_variables.update(favicon=quote(FAVICON), css=CSS, unused_bundles=unused)
