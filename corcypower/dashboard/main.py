"""`bokeh serve corcypower/dashboard`: each session's page (the shared state is in app_hooks)."""

from bokeh.io import curdoc

from corcypower.dashboard.page import make_document

make_document(curdoc())
