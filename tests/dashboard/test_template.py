"""The HTML page around the document: viewport, title, favicon, CSS, no unused scripts."""

from __future__ import annotations

import time

from bokeh.embed.bundle import bundle_for_objs_and_resources
from bokeh.embed.elements import html_page_for_render_items
from bokeh.embed.util import RenderItem
from bokeh.resources import Resources

from corcypower.dashboard import template
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
