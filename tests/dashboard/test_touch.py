"""Touch screens: the page sets its plots for fingers when it is ready, and when sections come.

What the script does to a plot on a phone is measured in the browser (test_browser.py)."""

from __future__ import annotations

from bokeh.document import Document
from bokeh.layouts import column

from corcypower.dashboard import touch


def test_the_script_runs_when_the_page_is_ready_and_when_sections_arrive():
    doc, root = Document(), column()
    doc.add_root(root)
    touch.for_fingers(doc, root)
    (ready,) = doc.callbacks._js_event_callbacks["document_ready"]
    (children,) = root.js_property_callbacks["change:children"]
    assert ready is children
    assert "pointer: coarse" in ready.code and '"PanTool"' in ready.code
