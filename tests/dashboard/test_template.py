"""The HTML page around the document: viewport, title, favicon, CSS, no unused scripts, and
the live numbers as HTML before BokehJS has run."""

from __future__ import annotations

import re
import time

from bokeh.document import Document
from bokeh.embed.bundle import bundle_for_objs_and_resources
from bokeh.embed.elements import html_page_for_render_items
from bokeh.embed.util import RenderItem
from bokeh.resources import Resources

from corcypower.dashboard import template
from corcypower.dashboard.page import make_document
from tests.dashboard.helpers import batch, build_page

NOW = int(time.time() * 1000)


def render(page) -> str:
    """The page as Bokeh's server renders it for a session (server_html_page_for_session)."""
    bundle = bundle_for_objs_and_resources(None, Resources(mode="server", root_url="/"))
    item = RenderItem(token="token", roots=page.doc.roots, use_for_title=False)
    return html_page_for_render_items(
        bundle,
        {},
        [item],
        page.doc.title,
        template=page.doc.template,
        template_variables=page.doc.template_variables,
    )


def test_the_page_has_a_viewport_a_title_and_an_icon(tmp_path):
    html = render(build_page(tmp_path / "none.db", [batch(NOW)]))
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<title>CorcyPower · " in html
    assert '<link rel="icon" href="data:image/svg+xml,' in html


def test_mathjax_tables_and_webgl_are_not_loaded(tmp_path):
    page = build_page(tmp_path / "none.db", [batch(NOW)])
    assert page.doc.template_variables["unused_bundles"] == list(template.BUNDLES)
    html = render(page)
    assert "bokeh.min.js" in html and "bokeh-widgets.min.js" in html
    for bundle in template.BUNDLES:
        assert f"{bundle}.min.js" not in html


def test_a_bundle_a_model_needs_is_kept():
    from bokeh.document import Document
    from bokeh.models import DataTable, Div

    doc = Document()
    doc.add_root(DataTable())
    doc.add_root(Div(text="$$x^2$$"))
    assert template.unused_bundles(doc) == ["bokeh-gl"]


def test_without_keeps_every_other_script():
    scripts = '<script src="/static/js/bokeh.min.js?v=1"></script>\n<script src="/static/js/bokeh-mathjax.min.js?v=2"></script>\n'
    assert (
        template.without(scripts, ["bokeh-mathjax"])
        == '<script src="/static/js/bokeh.min.js?v=1"></script>\n'
    )


def test_the_page_shows_the_latest_numbers_before_bokehjs_has_run(tmp_path):
    news = [batch(NOW - 500), batch(NOW, main_w=1234.0)]
    # stale after an hour: a page built slowly on a loaded machine is still fresh
    html = render(build_page(tmp_path / "none.db", news, dashboard={"stale_seconds": 3600}))
    first = html.index('<div class="first-paint" id="first-paint">')
    assert first < html.index("data-root-id=")  # above where BokehJS draws the document
    paint = html[first : html.index("data-root-id=")]
    assert "<h2>CorcyPower · " in paint
    assert '<div class="big" elementtiming="first-number">1234 W</div>' in paint  # the newest
    assert '<div class="numbers">' in paint and "last batch " in paint
    assert ".first-paint {" in html  # the cards' style, for the page itself


def test_bokehjs_is_deferred_so_the_numbers_paint_first(tmp_path):
    head = render(build_page(tmp_path / "none.db", [batch(NOW)])).split("</head>")[0]
    scripts = re.findall(r"<script[^>]*>", head)
    assert scripts and all("defer" in s or 'type="module"' in s for s in scripts)
    assert template.deferred("<script>a()</script>") == '<script type="module">a()</script>'


def test_bokehjs_removes_the_servers_numbers_once_it_has_drawn_the_document(tmp_path):
    page = build_page(tmp_path / "none.db", [batch(NOW)])
    codes = [c.code for c in page.doc.callbacks._js_event_callbacks["document_ready"]]
    assert template.DROP_FIRST_PAINT in codes


def test_numbers_that_stopped_arriving_are_grey_in_the_page_too(tmp_path):
    page = build_page(tmp_path / "none.db", [batch(NOW)])
    page.app.poller.last_arrival = time.monotonic() - 180
    later = make_document(Document(), page.app)  # a tab opened three minutes later
    paint = later.doc.template_variables["first_paint"]
    assert '<div class="numbers stale">' in paint and "no data for 3 min · last batch" in paint


def test_before_any_batch_the_page_has_no_numbers_of_its_own(tmp_path):
    page = build_page(tmp_path / "none.db")
    assert page.doc.template_variables["first_paint"] == ""
    assert 'id="first-paint"' not in render(page)
