"""Touch screens: one finger scrolls the page, two fingers zoom a plot, the pan tool drags it.

Bokeh sets a plot's CSS touch-action from its active tools: an active pan tool takes every
one-finger swipe that starts on the plot, so the page cannot scroll past it. On a touch
screen (a coarse pointer) each plot starts with its wheel-zoom tool active instead, which
Bokeh drives with a pinch, and its pan tool off; tapping the pan tool in the plot's toolbar
turns dragging on. With a mouse, dragging pans, as before, and the wheel scrolls the page.
"""

from __future__ import annotations

from bokeh.models import CustomJS

# Every plot of the document the first time it is seen (a plot's pan tool the person turned
# on stays on when more sections arrive).
FOR_FINGERS = """
if (!window.matchMedia("(pointer: coarse)").matches)
  return
const seen = window.corcypowerTouched ??= new Set()
for (const model of Bokeh.documents[0].all_models) {
  if (model.toolbar == null || seen.has(model.id))
    continue
  seen.add(model.id)
  for (const tool of model.toolbar.tools) {
    if (tool.type == "PanTool")
      tool.active = false
    else if (tool.type == "WheelZoomTool")
      tool.active = true
  }
}
"""


def for_fingers(doc, root) -> None:
    """On a touch screen, when the page is ready and whenever sections are added to `root`:
    every plot's pan tool off, its pinch zoom on."""
    code = CustomJS(code=FOR_FINGERS)
    doc.js_on_event("document_ready", code)
    root.js_on_change("children", code)
