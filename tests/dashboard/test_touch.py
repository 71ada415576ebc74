"""Touch screens: the page sets its plots for fingers when it is ready, and when sections come."""

from __future__ import annotations

from bokeh.document import Document
from bokeh.layouts import column
from bokeh.models import ColumnDataSource

from corcypower.dashboard import data, figures, touch
from tests.dashboard.helpers import config


def test_every_plots_pan_and_zoom_are_handed_to_the_script():
    view = data.View.from_config(config())
    plot = figures.live_figure(view, ColumnDataSource(data.live_columns(view, [], None)))
    gauge = figures.gauge_figure(view, ColumnDataSource({"x1": [], "y1": [], "label": []}))
    doc, root = Document(), column()
    doc.add_root(root)
    touch.for_fingers(doc, root, set(plot.references()) | set(gauge.references()))
    (ready,) = doc.callbacks._js_event_callbacks["document_ready"]
    (children,) = root.js_property_callbacks["change:children"]
    assert ready is children and "pointer: coarse" in ready.code
    (pan, zoom) = ready.args["tools"][0]
    assert type(pan).__name__ == "PanTool" and type(zoom).__name__ == "WheelZoomTool"
    assert len(ready.args["tools"]) == 1  # the gauge has no tools
