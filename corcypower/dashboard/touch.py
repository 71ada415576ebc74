"""Touch screens: one finger scrolls the page, two fingers zoom a plot, the pan tool drags it.

Bokeh sets a plot's CSS touch-action from its active tools: an active pan tool takes every
one-finger swipe that starts on the plot, so the page cannot scroll past it. On a touch
screen (a coarse pointer) each plot starts with its wheel-zoom tool active instead, which
Bokeh drives with a pinch, and its pan tool off; tapping the pan tool in the plot's toolbar
turns dragging on. With a mouse, dragging pans, as before, and the wheel scrolls the page.
"""

from __future__ import annotations

from bokeh.models import CustomJS, PanTool, Plot, WheelZoomTool

FOR_FINGERS = """
if (!window.matchMedia("(pointer: coarse)").matches)
  return
for (const [pan, zoom] of tools) {
  pan.active = false
  if (zoom != null)
    zoom.active = true
}
"""


def for_fingers(doc, root, models: set) -> None:
    """On a touch screen, when the page is ready and whenever sections are added to `root`:
    the pan tool of every plot among `models` (the page's, in it or not yet) off, its pinch
    zoom on."""
    tools = []
    for plot in sorted((m for m in models if isinstance(m, Plot)), key=lambda m: m.id):
        pans = [t for t in plot.toolbar.tools if isinstance(t, PanTool)]
        zooms = [t for t in plot.toolbar.tools if isinstance(t, WheelZoomTool)]
        if pans:
            tools.append([pans[0], zooms[0] if zooms else None])
    if tools:
        code = CustomJS(args={"tools": tools}, code=FOR_FINGERS)
        doc.js_on_event("document_ready", code)
        root.js_on_change("children", code)
